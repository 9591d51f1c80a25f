import { generate } from 'selfsigned';

/** PEM material for an emulator's HTTPS server and the CA its clients must trust. */
export interface EmulatorTlsMaterial {
  /** CA certificate (PEM): what `--ca-out` writes and what a client's `caFile` points at. */
  caCert: string;
  /** Server certificate (PEM), issued by the CA, valid for localhost, 127.0.0.1 and ::1. */
  cert: string;
  /** Server private key (PEM). */
  key: string;
}

/**
 * Generate a throw-away CA and a server certificate signed by it, as a real service presents a
 * chain rather than a self-signed leaf. EC P-256 keys keep start-up fast.
 */
export async function generateTlsMaterial(
  hostnames: readonly string[] = ['localhost'],
): Promise<EmulatorTlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
  const notAfterDate = new Date(Date.now() + 2 * 365 * 24 * 60 * 60 * 1000);
  const ca = await generate([{ name: 'commonName', value: 'dcsync emulator CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...hostnames.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  return { caCert: ca.cert, cert: leaf.cert, key: leaf.private };
}
