import { Agent, request } from 'undici';
import { tlsTrust } from '../tls-trust.js';

export interface AdobeHttpTransportOptions {
  /**
   * PEM of a CA to trust for these connections only (e.g. the emulator's CA); never installed
   * process-wide. @default the system's trusted CAs
   */
  caCert?: string | undefined;
  /** Whole-request timeout (connect, headers and body). @default 30_000 */
  timeoutMs?: number;
  /** Connections kept per origin. @default 32 */
  connections?: number;
}

/** An HTTP answer, whatever its status. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request that got no HTTP answer: it timed out or the connection failed. */
export class TransportFailure extends Error {
  constructor(
    readonly kind: 'timeout' | 'network',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'TransportFailure';
  }
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Overrides the transport's timeout for this request. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * HTTPS to Adobe endpoints (IMS, Campaign, Privacy Service) with keep-alive connections, a
 * per-request timeout and an optional CA trusted only by this transport's agent.
 */
export class AdobeHttpTransport {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(options: AdobeHttpTransportOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.agent = new Agent({
      connections: options.connections ?? 32,
      keepAliveTimeout: 10_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: tlsTrust(options.caCert, 'only'),
    });
  }

  /** Send a request; resolves with any HTTP answer, rejects with {@link TransportFailure} otherwise. */
  async send(req: HttpRequest): Promise<HttpAnswer> {
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    try {
      const response = await request(req.url, {
        method: req.method,
        ...(req.headers === undefined ? {} : { headers: req.headers }),
        ...(req.body === undefined ? {} : { body: req.body }),
        dispatcher: this.agent,
        signal,
      });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (timeout.aborted)
        throw new TransportFailure('timeout', `no answer within ${timeoutMs} ms`, { cause: error });
      const reason = error instanceof Error ? error.message : String(error);
      throw new TransportFailure('network', `connection failed: ${reason}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
