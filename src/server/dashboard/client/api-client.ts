/**
 * The dashboard's one way to the JSON API: same-origin, JSON both ways, the session's CSRF token on
 * every write, and a signed-out session sent back to the login page.
 */

/** Query parameters; empty, null and undefined values are left out. */
export type QueryParams = Readonly<Record<string, string | number | null | undefined>>;

/** The API answered with an error (`{ error: { code, message } }`). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The session ended; the page is already on its way to `/login`. */
export class SignedOutError extends Error {
  constructor() {
    super('signed out');
    this.name = 'SignedOutError';
  }
}

export interface ApiClientOptions {
  /** The session's CSRF token (the page's `csrf-token` meta tag). */
  csrfToken: string;
  /** Called on a 401, before the call fails with {@link SignedOutError}. */
  onSignedOut: () => void;
}

interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** `?a=1&b=x`, or '' when no parameter has a value. */
export function toQueryString(params: QueryParams): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '')
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  /** `GET path?params`; the answer typed as the route declares it. */
  get<T>(path: string, params: QueryParams = {}): Promise<T> {
    return this.request<T>('GET', path + toQueryString(params));
  }

  /** `POST path` with a JSON body and the CSRF token. */
  post<T>(path: string, body: object = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const init: RequestInit = { method, headers, credentials: 'same-origin' };
    if (method !== 'GET') {
      headers['x-csrf-token'] = this.options.csrfToken;
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body ?? {});
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      this.options.onSignedOut();
      throw new SignedOutError();
    }
    // The server is ours and its routes declare these shapes (api-types.ts): the one place the
    // client takes an answer at its word.
    const data = (await response.json()) as unknown;
    if (!response.ok) {
      const error = (data as ErrorBody | null)?.error;
      throw new ApiError(error?.message ?? `HTTP ${response.status}`, response.status, error?.code);
    }
    return data as T;
  }
}
