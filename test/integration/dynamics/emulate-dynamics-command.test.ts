/** `dcsync emulate dynamics` as a user runs it: a real process, stopped with SIGTERM. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';

const dir = mkdtempSync(join(tmpdir(), 'dcsync-emulate-dynamics-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dcsync emulate dynamics', () => {
  it('serves HTTPS with the CA written by --ca-out, prints the URLs but never the secret, and stops on SIGTERM', async () => {
    const caFile = join(dir, 'ca.pem');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'emulate',
        'dynamics',
        '--port',
        '0',
        '--contacts',
        '7',
        '--client-secret',
        'cli-secret-value',
        '--ca-out',
        caFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('Press Ctrl+C') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const url = /org URL \(dynamics\.url\):\s+(\S+)/.exec(output)?.[1];
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(output).toContain('contacts:                       7');
      const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
      try {
        const response = await request(`${url}/t/oauth2/v2.0/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: 'demo-client',
            client_secret: 'cli-secret-value',
            scope: `${url}/.default`,
          }).toString(),
          dispatcher: agent,
        });
        expect(response.statusCode).toBe(200);
        await response.body.dump();
      } finally {
        await agent.close();
      }
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    }
    expect(output).toContain('received SIGTERM, stopping');
    expect(output).not.toContain('cli-secret-value');
  });
});
