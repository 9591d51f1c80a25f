import { ApiError } from './api-client.js';

/** True when the server has no such route (an older server, or a feature not built in). */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.code === 'NOT_FOUND';
}
