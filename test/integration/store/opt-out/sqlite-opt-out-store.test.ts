import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openStateStore } from '../../../../src/store/open-state-store.js';
import { describeOptOutStoreContract } from './opt-out-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'dcsync-opt-out-store-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeOptOutStoreContract('sqlite', {
  openEmpty: (clock) => openStateStore(`sqlite:${join(dir, `store-${files++}.db`)}`, { clock }),
});
