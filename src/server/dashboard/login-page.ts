import { escapeHtml } from './html-escape.js';

const loginStyles = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f6f8;color:#1d2733;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border:1px solid #d5dbe1;border-radius:8px;padding:2rem;width:min(26rem,90vw);box-shadow:0 2px 8px rgba(0,0,0,.06)}
h1{font-size:1.4rem;margin:0 0 .25rem}
p{margin:.25rem 0 1rem;color:#4a5764}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #9aa6b2;border-radius:4px}
button{margin-top:1rem;padding:.5rem 1.25rem;font:inherit;font-weight:600;background:#1f5fa8;color:#fff;border:0;border-radius:4px;cursor:pointer}
button:focus-visible,input:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.error{color:#a4161a;font-weight:600}
`;

/**
 * The sign-in page: one password field for the admin token. Styles are inline with a per-response
 * nonce, so the page needs no other (authenticated) asset.
 */
export function renderLoginPage(options: { nonce: string; error?: string | undefined }): string {
  const error = options.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(options.error)}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — dcsync</title>
<style nonce="${escapeHtml(options.nonce)}">${loginStyles}</style>
</head>
<body>
<main>
<h1>dcsync operator dashboard</h1>
<p>Sign in with the admin token (<code>server.adminToken</code>).</p>
${error}
<form method="post" action="/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

/** What an unauthenticated browser gets for a page: 401 with a way to the sign-in page. */
export function renderSignInRequiredPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=/login">
<title>Sign in required — dcsync</title>
</head>
<body>
<p>Sign in required. <a href="/login">Go to the sign-in page</a>.</p>
</body>
</html>
`;
}
