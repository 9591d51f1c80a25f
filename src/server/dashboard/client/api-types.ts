/**
 * The API's answers, as the server declares them. Only types cross from the server: these imports
 * are erased, so no server code reaches the browser (the ESLint block for this folder refuses any
 * other import from outside it, and the bundle build checks its inputs).
 */
import type { RunKind } from '../../routes/run-routes.js';
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

export type {
  RunAnswer as RunDetail,
  RunKind,
  RunListAnswer,
  RunOutcome,
  RunView,
} from '../../routes/run-routes.js';

/** The run kinds, for the runs view's filter (a value: the client imports only types from the server). */
export const runKinds: readonly RunKind[] = [
  'initial',
  'replay',
  'rebaseline',
  'opt-out-file',
  'privacy',
  'bulk-import',
];
