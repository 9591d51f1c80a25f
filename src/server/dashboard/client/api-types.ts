/**
 * The API's answers, as the server declares them. Only types cross from the server: these imports
 * are erased, so no server code reaches the browser (the ESLint block for this folder refuses any
 * other import from outside it, and the bundle build checks its inputs).
 */
import type { FlowView, StatusSnapshot } from '../../status/status-reader.js';
export type { Page } from '../../../core/ports/state-store.js';
export type { OptOutDecisionView, OptOutFileView } from '../../providers/opt-out-provider.js';
export type { PrivacyRequestDetail, PrivacyRequestView } from '../../providers/privacy-provider.js';
export type {
  DeadLetterActionAnswer,
  DeadLetterListAnswer,
  DeadLetterView,
} from '../../routes/dead-letter-routes.js';
export type { ParkedListAnswer } from '../../routes/record-routes.js';
export type { AlertsAnswer, HistoryAnswer } from '../../routes/status-routes.js';
export type { StatusSample } from '../../status/status-history.js';
export type { FlowView, StatusSnapshot } from '../../status/status-reader.js';
export type { RetryingItemView, RetryingListAnswer } from '../../routes/status-routes.js';
export type { TraceAnswer, TraceMatch, TraceStep } from '../../routes/trace-routes.js';

// ---------------------------------------------------------------------------------------------
// Answers of routes built in parallel on other branches of issue 17 (runs, record trace, orphans,
// privacy poll times). LEAD: after merging, replace these local declarations with `import type`
// from the route files (`/api/runs`, `/api/trace`, `/api/parked`, the privacy provider) and delete
// them here; the views handle a 404 (route absent) with "not available".
// ---------------------------------------------------------------------------------------------

export const runKinds = [
  'initial',
  'replay',
  'rebaseline',
  'opt-out-file',
  'privacy',
  'bulk-import',
] as const;
export type RunKind = (typeof runKinds)[number];
export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** One run (initial load, replay, re-baseline, opt-out file, privacy request, bulk import). */
export interface RunView {
  id: string;
  flow: string;
  kind: RunKind;
  trigger: string;
  startedAt: number;
  endedAt: number | null;
  outcome: RunOutcome;
  phase: string;
  counts: {
    read: number;
    created: number;
    updated: number;
    adopted: number;
    deleted: number;
    unchanged: number;
    skipped: Record<string, number>;
    parked: number;
    deadLettered: number;
    campaignCalls: number;
  };
  progress: {
    total: number | null;
    totalSource: 'count' | 'read';
    done: number;
    percent: number | null;
    ratePerSecond: number | null;
    etaMs: number | null;
  };
}

/** `GET /api/runs` */
export interface RunListAnswer {
  items: RunView[];
  nextCursor: string | null;
}

/** `GET /api/runs/:id` */
export type RunDetail = RunView & { events: { at: number; kind: string; detail: string }[] };

/** A flow in `/api/status` once runs land: its current run (or none). */
export type FlowWithRun = FlowView & { run?: RunView | null };

/** `/api/status` once runs land. */
export type StatusWithRuns = Omit<StatusSnapshot, 'flows'> & { flows: FlowWithRun[] };
