import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { StateStore } from '../../core/ports/state-store.js';
import { defineCheckpoint, readCheckpointIfAny, writeCheckpoint } from '../checkpoints.js';
import type { OptOutFileSettings } from './opt-out-settings.js';

/** Kinds of file problems (docs/opt-outs.md, "Problems and alerts"). */
export const optOutFileProblemKinds = ['quarantined-lines', 'failed', 'incomplete', 'retrying'] as const;
export type OptOutFileProblemKind = (typeof optOutFileProblemKinds)[number];

/** An export file that needs the operator. Names, counts and codes only. */
export interface OptOutFileProblem {
  file: string;
  problem: OptOutFileProblemKind;
  /** Error code of a failed, held or retrying file. */
  code: string | null;
  /** Open quarantined lines. */
  lines: number | null;
  /** First open quarantined line. */
  firstLine: number | null;
  /** One line for the status, e.g. `opt-out file optout_….csv: 2 lines quarantined`. */
  summary: string;
  /** What it means and what to do (the alert's text). */
  detail: string;
}

/** The settings the problem rules read. */
export type OptOutFileProblemSettings = Pick<OptOutFileSettings, 'incompleteAfterMinutes' | 'maxAttempts'>;

/** Freshness of the export, as the dashboard and the staleness alert see it. */
export interface OptOutFreshness {
  lastFileAt: number | null;
  stalenessHours: number;
  stale: boolean;
}

/** Checkpoint `optout:last-file-arrival`: when a new export file name was last first seen (ms). */
export const lastArrivalCheckpoint = defineCheckpoint<number | null, void>({
  description: 'arrival time of the newest opt-out export file',
  name: () => 'optout:last-file-arrival',
  schema: z.number(),
  initial: () => null,
});

/** Checkpoint `optout:watching-since`: when the ingestor first watched the export folder (ms). */
export const watchSinceCheckpoint = defineCheckpoint<number | null, void>({
  description: 'time the opt-out export folder was first watched',
  name: () => 'optout:watching-since',
  schema: z.number(),
  initial: () => null,
});

/** Note that a new export file arrived now. */
export function noteFileArrival(store: Pick<StateStore, 'checkpoints'>, now: number): Promise<void> {
  return writeCheckpoint(store.checkpoints, lastArrivalCheckpoint, undefined, now);
}

/** Note when watching began, once. */
export async function noteWatching(store: Pick<StateStore, 'checkpoints'>, now: number): Promise<void> {
  if ((await readCheckpointIfAny(store.checkpoints, watchSinceCheckpoint, undefined)) === null)
    await writeCheckpoint(store.checkpoints, watchSinceCheckpoint, undefined, now);
}

const hourMs = 3_600_000;

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The export files that need the operator, from the ledger: files with open quarantined lines,
 * `failed` files, files held as not whole for longer than `incompleteAfterMinutes`, and files whose
 * processing failed `maxAttempts` times or more (still retried). Dismissed entries are not problems.
 */
export async function readOptOutFileProblems(
  store: Pick<StateStore, 'optOut'>,
  clock: Clock,
  settings: OptOutFileProblemSettings,
): Promise<OptOutFileProblem[]> {
  const { files, quarantined } = await store.optOut.fileProblems(100);
  const problems: Omit<OptOutFileProblem, 'detail'>[] = [];
  const base = { code: null, lines: null, firstLine: null };
  for (const q of quarantined)
    problems.push({
      ...base,
      file: q.fileName,
      problem: 'quarantined-lines',
      lines: q.lines,
      firstLine: q.firstLine,
      summary: `opt-out file ${q.fileName}: ${plural(q.lines, 'line')} quarantined`,
    });
  for (const f of files) {
    if (f.status === 'failed')
      problems.push({
        ...base,
        file: f.name,
        problem: 'failed',
        code: f.errorCode,
        summary: `opt-out file ${f.name} failed (${f.errorCode ?? 'unknown'})`,
      });
    else if (f.status === 'held' && clock.now() - f.startedAt > settings.incompleteAfterMinutes * 60_000)
      problems.push({
        ...base,
        file: f.name,
        problem: 'incomplete',
        code: f.errorCode,
        summary: `opt-out file ${f.name} incomplete for over ${settings.incompleteAfterMinutes} min (${f.errorCode ?? 'unknown'})`,
      });
    else if (f.status === 'processing' && f.attempts >= settings.maxAttempts)
      problems.push({
        ...base,
        file: f.name,
        problem: 'retrying',
        code: f.errorCode,
        summary: `opt-out file ${f.name} failed ${plural(f.attempts, 'attempt')} (${f.errorCode ?? 'unknown'}), still retried`,
      });
  }
  return problems
    .map((p) => ({ ...p, detail: fileProblemDetail(p, settings) }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function fileProblemDetail(
  p: Omit<OptOutFileProblem, 'detail'>,
  settings: OptOutFileProblemSettings,
): string {
  const what =
    p.problem === 'quarantined-lines'
      ? `${plural(p.lines ?? 0, 'line')} quarantined and not applied (first: line ${p.firstLine}). ` +
        `List them with 'dcsync optout quarantine --file ${p.file}', fix them in a copy of the file and apply them with 'dcsync optout ingest --file <copy> --lines …', or dismiss them with 'dcsync optout dismiss'.`
      : p.problem === 'failed'
        ? `could not be read (${p.code}); its lines after the last committed one are not applied and it is not tried again. Fix the file and run 'dcsync optout ingest --file … --force', or dismiss it.`
        : p.problem === 'incomplete'
          ? `has not been whole for over ${settings.incompleteAfterMinutes} min (${p.code}); none of it is applied until it is. Check the Campaign export workflow.`
          : `failed ${settings.maxAttempts} times or more (${p.code}); it is tried again at every poll.`;
  return `Opt-out export file ${p.file} ${p.problem === 'quarantined-lines' ? 'has ' : ''}${what}`;
}

/**
 * Freshness from the store: the ingestor notes when a file name is first seen, and when it
 * started watching (so a new installation that never gets a file also turns stale).
 */
export async function readOptOutFreshness(
  store: Pick<StateStore, 'checkpoints'>,
  clock: Clock,
  stalenessHours: number,
): Promise<OptOutFreshness> {
  const [lastFileAt, since] = await Promise.all([
    readCheckpointIfAny(store.checkpoints, lastArrivalCheckpoint, undefined),
    readCheckpointIfAny(store.checkpoints, watchSinceCheckpoint, undefined),
  ]);
  const from = lastFileAt ?? since;
  return { lastFileAt, stalenessHours, stale: from !== null && clock.now() - from > stalenessHours * hourMs };
}
