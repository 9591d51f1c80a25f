/**
 * Webhooks of the emulator: the documented RemoteExecutionContext and headers, WebhookKey and
 * HttpHeader authentication, one retry on 502/503/504 only, the receiver timeout, and delivery
 * that never holds up the write. The receiver is a real HTTP server on a loopback port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { RawDataverseApi } from '../../support/dynamics-test-bed.js';

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A webhook receiver whose answers the test scripts. */
class Receiver {
  readonly received: Received[] = [];
  answer: (request: Received, response: ServerResponse) => void = (_r, response) =>
    response.writeHead(200).end();
  private server: Server | undefined;
  private readonly open = new Set<ServerResponse>();
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        const entry = {
          url: request.url ?? '',
          headers: request.headers,
          body: JSON.parse(text) as Record<string, unknown>,
        };
        this.received.push(entry);
        this.open.add(response);
        response.on('close', () => this.open.delete(response));
        this.answer(entry, response);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    for (const response of this.open) response.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let emulator: DynamicsEmulator;
let api: RawDataverseApi;
const receiver = new Receiver();

beforeAll(async () => {
  emulator = await startDynamicsEmulator({ contacts: 3 });
  api = new RawDataverseApi(emulator);
  await receiver.start();
});

afterAll(async () => {
  await api.close();
  await emulator.close();
  await receiver.stop();
});

beforeEach(() => {
  receiver.received.length = 0;
  receiver.answer = (_r, response) => response.writeHead(200).end();
  for (const hook of emulator.admin.webhooks()) emulator.admin.unregisterWebhook(hook.id);
});

describe('webhooks', () => {
  it('posts the execution context for Create, Update and Delete with the documented headers and ?code=', async () => {
    emulator.admin.registerWebhook({
      url: receiver.url,
      table: 'contact',
      messages: ['Create', 'Update', 'Delete'],
      auth: { type: 'WebhookKey', key: 'key-123' },
    });
    const created = await api.api('POST', 'contacts?tag=from-test', {
      json: { firstname: 'Hook', lastname: 'Target' },
    });
    const id = /\(([0-9a-f-]{36})\)$/.exec(created.headers['odata-entityid']!)![1]!;
    await api.api('PATCH', `contacts(${id})`, { json: { donotemail: true }, headers: { 'if-match': '*' } });
    await api.api('DELETE', `contacts(${id})`);
    await emulator.admin.waitForWebhooks();

    expect(receiver.received.map((r) => r.headers['x-ms-dynamics-request-name'])).toEqual([
      'Create',
      'Update',
      'Delete',
    ]);
    for (const entry of receiver.received) {
      expect(entry.url).toBe('/hook?code=key-123');
      expect(entry.headers['x-ms-dynamics-entity-name']).toBe('contact');
      expect(entry.headers['x-ms-dynamics-organization']).toBe('emulator');
      expect(entry.headers['x-ms-correlation-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(entry.body).toMatchObject({
        PrimaryEntityName: 'contact',
        PrimaryEntityId: id,
        Stage: 40,
        Mode: 1,
        Depth: 1,
      });
      expect(entry.body.OperationCreatedOn).toMatch(/^\/Date\(\d+\)\/$/);
    }
    const [create, update, remove] = receiver.received.map((r) => r.body);
    expect(create!.OutputParameters).toEqual([{ key: 'id', value: id }]);
    expect(create!.SharedVariables).toContainEqual({ key: 'tag', value: 'from-test' });
    const updateTarget = (
      update!.InputParameters as {
        key: string;
        value: { Attributes: { key: string; value: unknown }[]; LogicalName: string };
      }[]
    )[0]!;
    expect(updateTarget.key).toBe('Target');
    expect(updateTarget.value.LogicalName).toBe('contact');
    expect(updateTarget.value.Attributes).toContainEqual({ key: 'donotemail', value: true });
    expect(update!.PostEntityImages).toEqual([
      expect.objectContaining({
        key: 'AsynchronousStepPrimaryName',
        value: expect.objectContaining({ Id: id }) as unknown,
      }),
    ]);
    const deleteTarget = (remove!.InputParameters as { value: Record<string, unknown> }[])[0]!.value;
    expect(deleteTarget.__type).toMatch(/^EntityReference:/);
    expect(deleteTarget.Id).toBe(id);
  });

  it('sends HttpHeader credentials as headers and honours filtering attributes', async () => {
    emulator.admin.registerWebhook({
      url: receiver.url,
      table: 'contact',
      messages: ['Update'],
      auth: { type: 'HttpHeader', headers: { 'x-hook-secret': 's3cret' } },
      filteringAttributes: ['donotemail'],
    });
    const contact = emulator.admin.createContact(buildContact());
    emulator.admin.updateContact(contact.contactid as string, { jobtitle: 'Ignored' });
    emulator.admin.updateContact(contact.contactid as string, { donotemail: true });
    await emulator.admin.waitForWebhooks();
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.headers['x-hook-secret']).toBe('s3cret');
    expect(receiver.received[0]!.url).toBe('/hook');
  });

  it('retries exactly once on 503 and never on 500', async () => {
    const id = emulator.admin.registerWebhook({
      url: receiver.url,
      table: 'contact',
      messages: ['Create'],
      auth: { type: 'WebhookKey', key: 'k' },
    });
    let calls = 0;
    receiver.answer = (_r, response) => response.writeHead(++calls === 1 ? 503 : 200).end();
    emulator.admin.createContact(buildContact());
    await emulator.admin.waitForWebhooks();
    receiver.answer = (_r, response) => response.writeHead(500).end();
    emulator.admin.createContact(buildContact());
    await emulator.admin.waitForWebhooks();
    receiver.answer = (_r, response) => response.writeHead(503).end();
    emulator.admin.createContact(buildContact());
    await emulator.admin.waitForWebhooks();
    const deliveries = emulator.admin.webhookDeliveries().filter((d) => d.webhookId === id);
    expect(deliveries.map((d) => [d.outcome, d.attempts.map((a) => a.status)])).toEqual([
      ['succeeded', [503, 200]],
      ['failed', [500]],
      ['failed', [503, 503]],
    ]);
  });

  it('does not hold up the write while the receiver is slow', async () => {
    const id = emulator.admin.registerWebhook({
      url: receiver.url,
      table: 'contact',
      messages: ['Create'],
      auth: { type: 'WebhookKey', key: 'k' },
    });
    const held: ServerResponse[] = [];
    receiver.answer = (_r, response) => held.push(response);
    const write = await api.api('POST', 'contacts', { json: { lastname: 'Slow' } });
    expect(write.status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(
      emulator.admin
        .webhookDeliveries()
        .filter((d) => d.webhookId === id)
        .map((d) => d.outcome),
    ).toEqual(['pending']);
    for (const response of held) response.writeHead(200).end();
    await emulator.admin.waitForWebhooks();
    expect(
      emulator.admin
        .webhookDeliveries()
        .filter((d) => d.webhookId === id)
        .map((d) => d.outcome),
    ).toEqual(['succeeded']);
  });

  it('gives up on a receiver that does not answer within the timeout, without a retry', async () => {
    const quick = await startDynamicsEmulator({ webhookTimeoutMs: 200 });
    try {
      quick.admin.registerWebhook({
        url: receiver.url,
        table: 'contact',
        messages: ['Create'],
        auth: { type: 'WebhookKey', key: 'k' },
      });
      receiver.answer = () => undefined;
      quick.admin.createContact(buildContact());
      await quick.admin.waitForWebhooks();
      const [delivery] = quick.admin.webhookDeliveries();
      expect(delivery!.outcome).toBe('failed');
      expect(delivery!.attempts).toHaveLength(1);
      expect(delivery!.attempts[0]!.error).toBeDefined();
    } finally {
      await quick.close();
    }
  });
});
