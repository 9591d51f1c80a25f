import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/**
 * undici `connect` options for a client that trusts a CA of its own (an emulator's, a corporate
 * proxy's) — for this client only, never process-wide: ONE TLS context, built here, for every
 * connection of the client. Given `ca` instead, Node builds a new context for each connection,
 * which with the system CAs is ~140 certificates parsed on the event loop every time (44 ms per
 * connection on the 2-core bench host; 3.5 ms with one CA).
 *
 * @param ca the PEM to trust; `undefined`: Node's default trust, nothing built
 * @param mode `with-system-cas`: the system CAs and `ca`; `only`: `ca` alone
 */
export function tlsTrust(
  ca: string | undefined,
  mode: 'with-system-cas' | 'only' = 'with-system-cas',
): { secureContext?: SecureContext } {
  if (ca === undefined) return {};
  return { secureContext: createSecureContext({ ca: mode === 'only' ? [ca] : [...rootCertificates, ca] }) };
}
