/**
 * The one build of the dashboard's browser bundle: `src/server/dashboard/client/main.ts` and what it
 * imports (modules and style sheets), bundled by esbuild into `bundle/dashboard.js` and
 * `bundle/dashboard.css` next to the server module that reads them
 * (`src/server/dashboard/dashboard-bundle.ts`). `npm run build` writes it under `dist/`; the tests
 * (vitest global setup), `npm run dcsync` and `npm run bench` write the git-ignored copy under `src/`;
 * a test that bundles the server into one script writes it next to that script.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { dashboardBundleDir } from '../src/server/dashboard/dashboard-bundle.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = 'src/server/dashboard/client';

/** Where a bundle goes: next to the compiled server (`dist`) or next to its TypeScript (`source`). */
export const dashboardBundleTargets = ['dist', 'source'] as const;
export type DashboardBundleTarget = (typeof dashboardBundleTargets)[number];

export interface DashboardBundleBuild {
  /** The files written, absolute paths. */
  files: string[];
  bytes: number;
}

/** The bundle folder of a target. */
export function dashboardBundleDirOf(target: DashboardBundleTarget): string {
  const sourceDir = fileURLToPath(dashboardBundleDir);
  return target === 'source' ? sourceDir : join(repoRoot, 'dist', relative(repoRoot, sourceDir));
}

/**
 * Bundle the dashboard's browser code into `outDir` (see {@link dashboardBundleDirOf}). Fails when
 * anything from outside the client folder (or a package) would be bundled: only types may come
 * from the server. Each file is replaced whole, so a server reading it meanwhile never sees half a
 * bundle.
 */
export async function buildDashboardBundle(outDir: string): Promise<DashboardBundleBuild> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: { dashboard: `${clientDir}/main.ts` },
    tsconfig: `${clientDir}/tsconfig.json`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    charset: 'utf8',
    legalComments: 'none',
    metafile: true,
    write: false,
    outdir: outDir,
    logLevel: 'silent',
  });
  const foreign = Object.keys(result.metafile.inputs).filter(
    (input) => !input.startsWith(`${clientDir}/`) && !input.split(/[\\/]/).includes('node_modules'),
  );
  if (foreign.length > 0)
    throw new Error(
      `the dashboard bundle would include server code (${foreign.join(', ')}): ` +
        `import only types from outside ${clientDir} (\`import type\`)`,
    );
  await mkdir(outDir, { recursive: true });
  let bytes = 0;
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${randomUUID()}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
    bytes += file.contents.byteLength;
  }
  return { files: result.outputFiles.map((f) => f.path), bytes };
}
