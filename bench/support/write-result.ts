import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/**
 * Write `bench/results/<name>.json` with the measurements, the targets they are judged against,
 * and the machine they ran on.
 */
export function writeBenchResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  const body = {
    benchmark: name,
    recordedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    ...result,
  };
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  console.log(JSON.stringify(body, null, 2));
  return file;
}
