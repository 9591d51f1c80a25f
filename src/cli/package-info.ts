import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRecord } from '../core/json.js';

/** Find this package's package.json, whether running from `src/` (tsx) or `dist/src/` (built). */
export function readPackageInfo(): { name: string; version: string; root: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg: unknown = JSON.parse(readFileSync(candidate, 'utf8'));
      if (isRecord(pkg) && pkg.name === 'dynamics-campaign-sync')
        return {
          name: pkg.name,
          version: typeof pkg.version === 'string' ? pkg.version : '0.0.0',
          root: dir,
        };
    }
    dir = dirname(dir);
  }
  return { name: 'dynamics-campaign-sync', version: '0.0.0', root: process.cwd() };
}
