import type { ErrorKind } from '../error-kind.js';

/** One catalogued code: its kind, what it means and what the operator does about it. */
export interface ErrorCodeEntry {
  readonly kind: ErrorKind;
  /** One line: what happened. */
  readonly meaning: string;
  /** One line: what to do. */
  readonly remedy: string;
  /**
   * Set only where the code's meaning contradicts its kind's default (`retryableByKind`), e.g. a
   * conflict that reading again resolves. The meaning says why.
   */
  readonly retryable?: boolean;
}

/**
 * A family of codes completed at run time by what the remote answered: `CAMPAIGN_HTTP_503`,
 * `ALERT_WEBHOOK_TIMEOUT`. The kind is the pattern's, never read back from the text.
 */
export interface ErrorCodePattern extends ErrorCodeEntry {
  /** As docs show it, e.g. `CAMPAIGN_HTTP_<status>`. */
  readonly pattern: string;
  readonly prefix: string;
  /** What follows the prefix: an HTTP status, or an upper-case reason word. */
  readonly suffix: 'status' | 'reason';
  /** When set, this entry covers only these statuses; another entry of the same prefix the rest. */
  readonly statuses?: readonly number[];
}

/** The codes of one area (a room or a remote system), declared `as const` in `<area>-error-codes.ts`. */
export interface ErrorAreaCatalogue {
  readonly area: string;
  /** Heading in docs/errors.md. */
  readonly title: string;
  readonly codes: Readonly<Record<string, ErrorCodeEntry>>;
  readonly patterns: readonly ErrorCodePattern[];
}

type PatternCode<P> = P extends { readonly prefix: infer X extends string; readonly suffix: 'status' }
  ? `${X}${number}`
  : P extends { readonly prefix: infer X extends string; readonly suffix: 'reason' }
    ? `${X}${string}`
    : never;

/** Every code of an area (or of a union of areas): its fixed codes and its patterns. */
export type ErrorCodeOf<A> = A extends ErrorAreaCatalogue
  ? (keyof A['codes'] & string) | PatternCode<A['patterns'][number]>
  : never;

/** The fixed codes of an area whose kind is `K`. */
export type ErrorCodeOfKind<A, K extends ErrorKind> = A extends ErrorAreaCatalogue
  ? { [C in keyof A['codes']]: A['codes'][C]['kind'] extends K ? C : never }[keyof A['codes']] & string
  : never;
