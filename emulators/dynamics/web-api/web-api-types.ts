import type { AuthenticatedUser } from '../auth/entra-token-service.js';
import { DataverseError } from '../dataverse-error.js';

/** One Web API request as the handler sees it (from the socket or from a `$batch` part). */
export interface WebApiRequest {
  method: string;
  /** Path and query from the origin on, e.g. `/api/data/v9.2/contacts?$select=firstname`. */
  url: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: string | undefined;
  user: AuthenticatedUser;
  correlationId: string;
}

export interface WebApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
}

export const apiPathPrefix = '/api/data/v9.2/';
export const jsonContentType = 'application/json; odata.metadata=minimal';

/** A JSON response with the OData headers every Web API answer carries. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): WebApiResponse {
  return {
    status,
    headers: { 'content-type': jsonContentType, 'odata-version': '4.0', ...headers },
    body: JSON.stringify(body),
  };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): WebApiResponse {
  return { status, headers: { 'odata-version': '4.0', ...headers }, body: undefined };
}

export function errorResponse(error: DataverseError): WebApiResponse {
  return jsonResponse(error.status, error.body(), error.headers);
}

/** Translate anything thrown inside a handler: our errors keep their status, the rest become 500. */
export function toErrorResponse(error: unknown): WebApiResponse {
  if (error instanceof DataverseError) return errorResponse(error);
  return errorResponse(
    new DataverseError(
      500,
      '0x80040216',
      `An unexpected error occurred: ${error instanceof Error ? error.message : String(error)}`,
    ),
  );
}
