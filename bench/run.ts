/**
 * `npm run bench -- <name> [...]` runs `bench/<name>.bench.ts`; without names it runs every
 * benchmark. Each benchmark writes `bench/results/<name>.json` and prints a summary.
 *
 * With more than one name, each benchmark runs in a process of its own (this script, with the
 * same Node flags and loader, given one name): several benchmarks measure their own process's
 * memory, and what an earlier one left on the heap must not count against a later one.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = requested.length > 0 ? requested : available;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ') || '(none)'}`);
    process.exit(2);
  }
}

if (names.length === 1) {
  const name = names[0]!;
  console.log(`\n=== bench: ${name}`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as {
    run?: () => Promise<void>;
  };
  if (typeof mod.run !== 'function') {
    console.error(`bench/${name}.bench.ts must export async function run()`);
    process.exit(2);
  }
  await mod.run();
} else {
  const failed: string[] = [];
  for (const name of names) {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), name], {
        stdio: 'inherit',
      });
      child.once('close', resolve);
    });
    if (code !== 0) failed.push(`${name} (exit ${code})`);
  }
  if (failed.length > 0) {
    console.error(`\nbenchmarks that failed: ${failed.join(', ')}`);
    process.exit(1);
  }
}
