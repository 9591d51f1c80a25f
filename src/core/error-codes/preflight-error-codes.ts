import type { ErrorAreaCatalogue } from './error-code-table.js';

/**
 * The pre-flight at start-up. Its individual checks report findings (`PREFLIGHT_…`, listed in
 * docs/configuration.md); when one is an error, start-up throws one `PREFLIGHT_FAILED`.
 */
export const preflightErrors = {
  area: 'preflight',
  title: 'Pre-flight (live checks at start)',
  codes: {
    PREFLIGHT_FAILED: {
      kind: 'invalid',
      meaning:
        'A live check against Dynamics or Campaign failed before any flow started (a table without change tracking, a field missing or of the wrong type); the message lists the findings.',
      remedy: 'Fix the metadata or the mapping named; `dcsync validate` runs the same checks.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
