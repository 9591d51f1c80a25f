import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

/** A dashboard session: the cookie holds only `id`; the admin token never leaves the server. */
export interface Session {
  id: string;
  /** Sent back in the `x-csrf-token` header by state-changing requests. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionStoreOptions {
  clock: Clock;
  /** @default 120 */
  idleMinutes?: number;
  /** @default 12 */
  maxHours?: number;
  /** Oldest sessions are dropped beyond this many. @default 1000 */
  maxSessions?: number;
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Server-side sessions in memory, with idle and absolute expiry. A restart signs everyone out,
 * which is the safe direction for an admin surface.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly maxSessions: number;

  constructor(private readonly options: SessionStoreOptions) {
    this.idleMs = (options.idleMinutes ?? 120) * 60_000;
    this.maxMs = (options.maxHours ?? 12) * 3_600_000;
    this.maxSessions = options.maxSessions ?? 1000;
  }

  create(): Session {
    const now = this.options.clock.now();
    this.sweep(now);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session: Session = { id: randomToken(), csrfToken: randomToken(), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, touched; null when unknown or expired. */
  get(id: string): Session | null {
    const session = this.sessions.get(id);
    if (!session) return null;
    const now = this.options.clock.now();
    if (this.isExpired(session, now)) {
      this.sessions.delete(id);
      return null;
    }
    session.lastSeenAt = now;
    return session;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private isExpired(session: Session, now: number): boolean {
    return now - session.lastSeenAt > this.idleMs || now - session.createdAt > this.maxMs;
  }

  private sweep(now: number): void {
    for (const [id, session] of this.sessions) if (this.isExpired(session, now)) this.sessions.delete(id);
  }
}
