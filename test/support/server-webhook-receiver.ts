import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  path: string;
  headers: IncomingMessage['headers'];
  body: { text: string; blocks?: unknown[]; alert?: Record<string, unknown> };
}

/**
 * A Slack-like incoming-webhook endpoint on a loopback port. `answers` scripts the status codes of
 * the next requests (then 200); `'hang'` never answers.
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  answers: (number | 'hang')[] = [];
  retryAfterSeconds: number | null = null;
  private server: Server | null = null;
  private readonly open = new Set<ServerResponse>();
  url = '';

  async start(path = '/services/T000/B000/cnry-hook-token-4e1d'): Promise<this> {
    this.server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        this.received.push({
          path: request.url ?? '',
          headers: request.headers,
          body: JSON.parse(text) as ReceivedHook['body'],
        });
        this.open.add(response);
        response.on('close', () => this.open.delete(response));
        const answer = this.answers.shift() ?? 200;
        if (answer === 'hang') return;
        if (this.retryAfterSeconds !== null)
          response.setHeader('retry-after', String(this.retryAfterSeconds));
        response.writeHead(answer).end(answer === 200 ? 'ok' : 'error');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
    return this;
  }

  /** Texts received so far. */
  texts(): string[] {
    return this.received.map((r) => r.body.text);
  }

  async stop(): Promise<void> {
    for (const response of this.open) response.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
