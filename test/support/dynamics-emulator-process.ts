/**
 * Runs the Dynamics emulator in its own process (for benchmarks, so its memory is not counted in
 * the reading process). Usage: `node --import tsx test/support/dynamics-emulator-process.ts '<options JSON>'`.
 * Prints one JSON line `{ url, authorityHost, tenantId, clientId, caCert, contacts, startupMs }`
 * and runs until SIGTERM/SIGINT or until stdin closes.
 */
import {
  startDynamicsEmulator,
  type DynamicsEmulatorOptions,
} from '../../emulators/dynamics/dynamics-emulator.js';

const options = JSON.parse(process.argv[2] ?? '{}') as DynamicsEmulatorOptions;
const started = Date.now();
const emulator = await startDynamicsEmulator(options);
process.stdout.write(
  `${JSON.stringify({
    url: emulator.url,
    authorityHost: emulator.authorityHost,
    tenantId: emulator.tenantId,
    clientId: emulator.clientId,
    caCert: emulator.caCert,
    contacts: emulator.admin.countRows('contact'),
    startupMs: Date.now() - started,
  })}\n`,
);
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
