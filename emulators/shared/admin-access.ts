import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

const loopback = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Why an emulator's admin API refused a request. */
export interface AdminRefusal {
  status: 401 | 403;
  code: 'EMULATOR_UNAUTHORIZED' | 'EMULATOR_FORBIDDEN';
  message: string;
}

/**
 * Who may call an emulator's admin API: with an admin key, callers sending it in
 * `x-emulator-admin-key` (compared in constant time); without one, loopback callers only.
 * Null when the request may pass.
 */
export function adminRefusal(request: FastifyRequest, adminKey: string | undefined): AdminRefusal | null {
  if (adminKey !== undefined) {
    const given = Buffer.from(String(request.headers['x-emulator-admin-key'] ?? ''));
    const wanted = Buffer.from(adminKey);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
      return {
        status: 401,
        code: 'EMULATOR_UNAUTHORIZED',
        message: 'The admin API needs the x-emulator-admin-key header.',
      };
    return null;
  }
  if (!loopback.has(request.socket.remoteAddress ?? ''))
    return {
      status: 403,
      code: 'EMULATOR_FORBIDDEN',
      message: 'The admin API is open to loopback callers only; set an admin key.',
    };
  return null;
}
