/**
 * `npm run bench -- <name> [...]` runs `bench/<name>.bench.ts`; without names it runs every
 * benchmark. Each benchmark writes `bench/results/<name>.json` and prints a summary.
 */
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
for (const name of names) {
  console.log(`\n=== bench: ${name}`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as {
    run?: () => Promise<void>;
  };
  if (typeof mod.run !== 'function') {
    console.error(`bench/${name}.bench.ts must export async function run()`);
    process.exit(2);
  }
  await mod.run();
}
