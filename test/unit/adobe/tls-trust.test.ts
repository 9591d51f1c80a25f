/**
 * The trust a client is given (`tlsTrust`): one TLS context for all its connections, trusting the
 * CA it was handed — and not a server whose certificate another CA signed. Real HTTPS servers on
 * loopback, with throw-away CAs as the emulators use.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTlsMaterial, type EmulatorTlsMaterial } from '../../../emulators/shared/tls-certificate.js';
import { AdobeHttpTransport } from '../../../src/connectors/adobe/adobe-http-transport.js';
import { tlsTrust } from '../../../src/connectors/tls-trust.js';

let ours: EmulatorTlsMaterial;
let theirs: EmulatorTlsMaterial;
let server: Server;
let url: string;
let handshakes = 0;

beforeAll(async () => {
  [ours, theirs] = await Promise.all([generateTlsMaterial(), generateTlsMaterial()]);
  server = createServer({ cert: ours.cert, key: ours.key }, (_req, res) => res.end('ok'));
  server.on('secureConnection', () => handshakes++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('tlsTrust', () => {
  it('builds nothing without a CA (Node’s default trust)', () => {
    expect(tlsTrust(undefined)).toEqual({});
  });

  it('trusts the given CA on every connection of one agent', async () => {
    const agent = new Agent({ connect: tlsTrust(ours.caCert), pipelining: 0 });
    try {
      const before = handshakes;
      const answers = await Promise.all(
        Array.from({ length: 4 }, async () => (await request(url, { dispatcher: agent })).body.text()),
      );
      expect(answers).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(handshakes - before).toBeGreaterThan(1); // several connections, all through the one context
    } finally {
      await agent.close();
    }
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const agent = new Agent({ connect: tlsTrust(theirs.caCert) });
    try {
      // Both throw-away CAs bear the same name: OpenSSL finds "the" issuer and its signature fails.
      await expect(request(url, { dispatcher: agent })).rejects.toMatchObject({
        code: expect.stringMatching(/^(CERT_SIGNATURE_FAILURE|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/) as unknown,
      });
    } finally {
      await agent.close();
    }
  });

  it('AdobeHttpTransport trusts its CA, and refuses a server another CA signed', async () => {
    const trusting = new AdobeHttpTransport({ caCert: ours.caCert });
    const other = new AdobeHttpTransport({ caCert: theirs.caCert });
    try {
      expect(await trusting.send({ method: 'GET', url })).toMatchObject({ status: 200, text: 'ok' });
      await expect(other.send({ method: 'GET', url })).rejects.toMatchObject({ kind: 'network' });
    } finally {
      await trusting.close();
      await other.close();
    }
  });
});
