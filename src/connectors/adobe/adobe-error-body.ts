import type { HttpAnswer } from './adobe-http-transport.js';

/** The readable parts of an Adobe error body, whatever its envelope. */
export interface AdobeErrorBody {
  message: string | null;
  /** Gateway code, e.g. `401013`. */
  errorCode: string | null;
  /** Application codes found in the message: `RST-360011`, `PGS-220000`, `XTK-170036`, … */
  appCodes: string[];
}

/** Read `{"code","message"}`, `{"error_code","message"}`, a bare JSON string, or plain text. */
export function parseAdobeErrorBody(text: string): AdobeErrorBody {
  let message: string | null = null;
  let errorCode: string | null = null;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'string') message = body;
    else if (typeof body === 'object' && body !== null) {
      const record = body as Record<string, unknown>;
      if (typeof record.message === 'string') message = record.message;
      if (typeof record.error_code === 'string' || typeof record.error_code === 'number')
        errorCode = String(record.error_code);
    }
  } catch {
    message = text.trim() === '' ? null : text.slice(0, 2000);
  }
  const appCodes = [...new Set(message?.match(/\b[A-Z]{3}-\d{6}\b/g) ?? [])];
  return { message, errorCode, appCodes };
}

/** True when a 401 body says the token is not valid (the one case worth a refresh and replay). */
export function isInvalidTokenAnswer(answer: HttpAnswer): boolean {
  return answer.status === 401 && parseAdobeErrorBody(answer.text).errorCode === '401013';
}
