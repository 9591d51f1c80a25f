/**
 * Both emulators in a process of their own, for benchmarks that measure the sync process alone.
 * Usage: `node --import tsx test/support/sync-process-emulators.ts '<{dynamics, campaign} options JSON>'`.
 * Prints one ready line `{ dynamics: {...}, campaign: {...} }` with the endpoints and CA
 * certificates, then answers JSON command lines `{ id, op, args }` on stdin with
 * `{ id, result }` or `{ id, error }` on stdout. Stops on SIGTERM or when stdin closes.
 * {@link startEmulatorHost} in ./sync-process.ts is the client.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  startDynamicsEmulator,
  type DynamicsEmulatorOptions,
} from '../../emulators/dynamics/dynamics-emulator.js';
import {
  startCampaignEmulator,
  type CampaignEmulatorOptions,
} from '../../emulators/campaign/campaign-emulator.js';
import { SeededRandom } from '../../emulators/shared/seeded-random.js';
import {
  formatOptOutExportHeader,
  formatOptOutExportRow,
} from '../../emulators/campaign/sftp/opt-out-export-format.js';

interface HostOptions {
  dynamics?: DynamicsEmulatorOptions;
  campaign?: CampaignEmulatorOptions;
}

/** A latency run: update contacts at a steady rate, time until each new value shows in Campaign. */
interface LatencyRunArgs {
  changesPerSecond: number;
  durationMs: number;
  seed?: number;
  /** Give up on a change after this long. @default 60000 */
  giveUpMs?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as HostOptions;
const dynamics = await startDynamicsEmulator({ ...options.dynamics });
const campaign = await startCampaignEmulator({ ...options.campaign });

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function runLatency(args: LatencyRunArgs): Promise<{ latenciesMs: number[]; lost: number }> {
  const random = new SeededRandom(args.seed ?? 1);
  const giveUpMs = args.giveUpMs ?? 60_000;
  const pkeyOf = new Map<string, string>();
  for (const p of campaign.admin.listRecords('profile')) {
    const key = p.values.externalId;
    if (typeof key === 'string' && key !== '') pkeyOf.set(key, p.PKey);
  }
  const ids = [...pkeyOf.keys()];
  const pending = new Map<string, { marker: string; at: number }>();
  const latencies: number[] = [];
  let lost = 0;
  let sent = 0;
  const total = Math.round((args.changesPerSecond * args.durationMs) / 1000);
  const start = performance.now();
  let nextCheck = 0;
  while (sent < total || pending.size > 0) {
    const now = performance.now();
    // Send every change that is due by now (a steady rate, not bursts after a slow loop turn).
    while (sent < total && now - start >= (sent * 1000) / args.changesPerSecond) {
      let id = random.pick(ids);
      for (let tries = 0; pending.has(id) && tries < 20; tries++) id = random.pick(ids);
      if (pending.has(id)) break;
      const marker = `Lat${sent}`;
      dynamics.admin.updateContact(id, { lastname: marker });
      pending.set(id, { marker, at: performance.now() });
      sent++;
    }
    if (now >= nextCheck) {
      for (const [id, change] of pending) {
        const record = campaign.admin.getRecord('profile', pkeyOf.get(id)!);
        if (record?.values.lastName === change.marker) {
          latencies.push(performance.now() - change.at);
          pending.delete(id);
        } else if (performance.now() - change.at > giveUpMs) {
          lost++;
          pending.delete(id);
        }
      }
      nextCheck = performance.now() + 5;
    }
    await sleep(2);
  }
  return { latenciesMs: latencies, lost };
}

/**
 * Write an opt-out export file of `rows` rows (`blackListEmail` alternating true/false) for the
 * emulator's contacts, here: the contact ids never enter the measured process.
 */
async function writeOptOutExport(path: string, rows: number): Promise<{ bytes: number }> {
  const ids = dynamics.admin.listIds('contact');
  const out = createWriteStream(path);
  out.write(formatOptOutExportHeader());
  const at = Date.UTC(2026, 0, 1, 1);
  for (let i = 0; i < rows; i++) {
    const line = formatOptOutExportRow({
      PKey: `@bench-${i}`,
      externalId: ids[i % ids.length]!,
      attributes: { blackListEmail: { value: i % 2 === 0, lastModified: at } },
    });
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { bytes: out.bytesWritten };
}

type Handler = (args: Record<string, unknown>) => unknown;
const handlers: Record<string, Handler> = {
  stats: () => ({ dynamics: dynamics.admin.stats(), campaign: campaign.admin.stats() }),
  /** CPU time this host has used so far (`process.cpuUsage()`, microseconds). */
  cpu: () => process.cpuUsage(),
  resetStats: () => {
    dynamics.admin.resetStats();
    campaign.admin.resetStats();
  },
  countProfiles: () => campaign.admin.countRecords('profile'),
  countContacts: () => dynamics.admin.countRows('contact'),
  contactIds: () => dynamics.admin.listIds('contact'),
  writeOptOutExport: (args) => writeOptOutExport(String(args.path), Number(args.rows)),
  campaignLimits: (args) => campaign.admin.setLimits(args),
  campaignFaults: (args) => campaign.admin.setFaults(args),
  dynamicsFaults: (args) => dynamics.admin.configureFaults(args),
  registerWebhook: (args) => dynamics.admin.registerWebhook(args as never),
  latencyRun: (args) => runLatency(args as unknown as LatencyRunArgs),
  dynamicsLimits: (args) => dynamics.admin.configureLimits(args),
  resetLimitWindows: () => dynamics.admin.resetLimitWindows(),
  /** PKeys of the profiles Campaign can mail (an e-mail address) that carry an externalId. */
  mailableProfiles: () =>
    campaign.admin
      .listRecords('profile')
      .filter((p) => typeof p.values.email === 'string' && p.values.email !== '' && p.values.externalId)
      .map((p) => p.PKey),
  burstEvents: (args) => campaign.admin.burstEvents(args as never),
  journalStatus: () => campaign.admin.journalStatus(),
  countRows: (args) => dynamics.admin.countRows(String(args.table)),
  campaignSettings: (args) => campaign.admin.configure(args),
  workflowHistory: (args) => campaign.admin.workflows.history(String(args.id)),
};

process.stdout.write(
  `${JSON.stringify({
    dynamics: {
      url: dynamics.url,
      authorityHost: dynamics.authorityHost,
      clientId: dynamics.clientId,
      caCert: dynamics.caCert,
    },
    campaign: {
      url: campaign.url,
      imsUrl: campaign.imsUrl,
      clientId: campaign.clientId,
      caCert: campaign.caCert,
      journalUrl: campaign.journalUrl,
      imsOrgId: campaign.imsOrgId,
      ...(campaign.sftp ? { sftp: campaign.sftp } : {}),
    },
  })}\n`,
);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([dynamics.close(), campaign.close()]);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const { id, op, args } = JSON.parse(line) as { id: number; op: string; args?: Record<string, unknown> };
  Promise.resolve()
    .then(() => {
      const handler = handlers[op];
      if (!handler) throw new Error(`unknown op ${op}`);
      return handler(args ?? {});
    })
    .then(
      (result) => process.stdout.write(`${JSON.stringify({ id, result: result ?? null })}\n`),
      (error: unknown) =>
        process.stdout.write(
          `${JSON.stringify({ id, error: error instanceof Error ? error.message : String(error) })}\n`,
        ),
    );
});
commands.on('close', () => void stop());
