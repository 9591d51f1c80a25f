import type { Clock } from '../../core/clock.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';
import { AdobeApiCaller, type AdobeApiCallerOptions } from './adobe-api-caller.js';
import type { AdobeCallGate } from './adobe-call-gate.js';
import { AdobeHttpTransport } from './adobe-http-transport.js';
import { ImsTokenProvider } from './ims-token-provider.js';

/** What {@link openAdobeConnection} needs: the credential, the transport settings and the caller's identity. */
export interface AdobeConnectionOptions {
  target: AdobeApiCallerOptions['target'];
  /** @default 'https://ims-na1.adobelogin.com' */
  imsUrl?: string | undefined;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** PEM of a CA trusted for these connections only. */
  caCert?: string | undefined;
  /** A token provider shared with another client (not closed by this connection). */
  tokens?: ImsTokenProvider | undefined;
  /** @default 30_000 */
  timeoutMs?: number | undefined;
  /** @default 32 */
  connections?: number | undefined;
  gate?: AdobeCallGate | undefined;
  isLoadNeutral?: AdobeApiCallerOptions['isLoadNeutral'];
  /** Per-call counts for `/metrics`. */
  metrics?: CallMetrics | undefined;
  headers?: Record<string, string>;
  /** Token expiry and `Retry-After` dates. @default systemClock */
  clock?: Clock | undefined;
}

/** A transport, a token provider (own or shared) and the caller over them. */
export interface AdobeConnection {
  caller: AdobeApiCaller;
  close(): Promise<void>;
}

/** Build the HTTP transport, the IMS token provider (unless shared) and the authenticated caller. */
export function openAdobeConnection(options: AdobeConnectionOptions): AdobeConnection {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const transport = new AdobeHttpTransport({
    caCert: options.caCert,
    timeoutMs,
    connections: options.connections ?? 32,
  });
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const tokens =
    options.tokens ??
    new ImsTokenProvider({
      imsUrl: options.imsUrl ?? 'https://ims-na1.adobelogin.com',
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      transport,
      timeoutMs,
      ...clock,
    });
  const caller = new AdobeApiCaller({
    target: options.target,
    transport,
    tokens,
    apiKey: options.clientId,
    gate: options.gate,
    isLoadNeutral: options.isLoadNeutral,
    metrics: options.metrics,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...clock,
  });
  return {
    caller,
    close: async () => {
      if (options.tokens === undefined) await tokens.close();
      await transport.close();
    },
  };
}
