/**
 * The dependency rule of ARCHITECTURE.md is a lint rule, and `.ci/run` runs lint: this test feeds
 * the project's real ESLint configuration deliberate violations and checks each is refused (and
 * that what the rule allows passes), so a change that loosens the configuration fails here.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The project's configuration, without type information (the probes are not files of the project). */
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [tseslint.configs.disableTypeChecked],
});

async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('room boundaries (eslint.config.js)', () => {
  it.each([
    [
      'src/engine/probe.ts',
      "import { CampaignClient } from '../connectors/campaign/campaign-client.js';\nexport const x = CampaignClient;\n",
      'src/engine may import only from src/engine, src/core',
    ],
    [
      'src/engine/opt-out/probe.ts',
      "import { loadConfig } from '../../config/load-config.js';\nexport const x = loadConfig;\n",
      'src/engine may import only from',
    ],
    [
      'src/engine/probe.ts',
      "import { openStateStore } from '../store/open-state-store.js';\nexport const x = openStateStore;\n",
      'src/engine may import only from',
    ],
    ['src/engine/probe.ts', "import pg from 'pg';\nexport const x = pg;\n", 'does no I/O of its own'],
    [
      'src/preflight/probe.ts',
      "import { DynamicsMetadataReader } from '../connectors/dynamics/dynamics-metadata-reader.js';\nexport const x = DynamicsMetadataReader;\n",
      'src/preflight may import only from',
    ],
    [
      'src/connectors/campaign/probe.ts',
      "import { FlowRegistry } from '../../engine/flow.js';\nexport const x = FlowRegistry;\n",
      'src/connectors may import only from',
    ],
    [
      'src/connectors/campaign/probe.ts',
      "import type { ResolvedConfig } from '../../config/resolved-config.js';\nexport type X = ResolvedConfig;\n",
      'src/connectors may import only from',
    ],
    [
      'src/server/probe.ts',
      "import { CallBudget } from '../connectors/campaign/call-budget.js';\nexport const x = CallBudget;\n",
      'src/server may import only from',
    ],
    [
      'src/store/sql/probe.ts',
      "import { SyncEngine } from '../../engine/sync-engine.js';\nexport const x = SyncEngine;\n",
      'src/store may import only from',
    ],
    [
      'src/core/probe.ts',
      "import { SyncEngine } from '../engine/sync-engine.js';\nexport const x = SyncEngine;\n",
      'src/core may import only from src/core',
    ],
    [
      'src/core/probe.ts',
      "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
      'does no I/O of its own',
    ],
  ])('refuses %s importing what its room may not', async (path, code, expected) => {
    expect((await problems(path, code)).join('\n')).toContain(expected);
  });

  it('refuses the wall clock outside src/core/clock.ts', async () => {
    expect(await problems('src/engine/probe.ts', 'export const now = Date.now();\n')).toEqual([
      'no-restricted-syntax: Use the injected Clock (clock.now()), not Date.now().',
    ]);
    expect((await problems('src/connectors/probe.ts', 'export const d = new Date();\n')).join('')).toContain(
      'Use the injected Clock',
    );
    expect(await problems('src/core/clock.ts', 'export const now = (): number => Date.now();\n')).toEqual([]);
  });

  it('refuses casting stored JSON, and allows reading it as unknown', async () => {
    expect(
      await problems(
        'src/store/sql/probe.ts',
        'export const x = (t: string) => JSON.parse(t) as { a: number };\n',
      ),
    ).toEqual([
      'no-restricted-syntax: Read stored JSON through its zod schema (checkpoints.ts, parseStoredJson, a flow payload schema), not with `as`.',
    ]);
    expect(
      await problems('src/store/sql/probe.ts', 'export const x = (t: string) => JSON.parse(t) as unknown;\n'),
    ).toEqual([]);
  });

  it('lets each room import what it may', async () => {
    expect(
      await problems(
        'src/engine/probe.ts',
        "import { systemClock } from '../core/clock.js';\nexport const x = systemClock;\n",
      ),
    ).toEqual([]);
    expect(
      await problems(
        'src/cli/runtime/probe.ts',
        "import { CampaignClient } from '../../connectors/campaign/campaign-client.js';\nimport { SyncEngine } from '../../engine/sync-engine.js';\nexport const x = [CampaignClient, SyncEngine];\n",
      ),
    ).toEqual([]);
    expect(
      await problems(
        'src/server/probe.ts',
        "import type { FlowStatus } from '../engine/flow-status.js';\nexport type X = FlowStatus;\n",
      ),
    ).toEqual([]);
  });
});
