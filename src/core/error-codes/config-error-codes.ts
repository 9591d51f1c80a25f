import type { ErrorAreaCatalogue } from './error-code-table.js';

/**
 * Codes of the configuration errors that are thrown. The findings of `dcsync validate` (`CONFIG_…`
 * from the schema and the lint) are data, not errors; docs/configuration.md lists them.
 */
export const configErrors = {
  area: 'config',
  title: 'Configuration',
  codes: {
    CONFIG_INVALID: {
      kind: 'invalid',
      meaning:
        'The configuration file or environment is not valid: the message lists every finding with its YAML path and line, or names the setting.',
      remedy: 'Fix the file or the environment variable named; `dcsync validate` lists all findings.',
    },
    CONFIG_PRIVACY_MISSING: {
      kind: 'invalid',
      meaning: 'A privacy command ran but the configuration has no `privacy` section.',
      remedy: 'Add `privacy` (imsOrgId, namespaces) to the configuration file.',
    },
    CONFIG_SECRET_UNRESOLVED: {
      kind: 'internal',
      meaning:
        'A secret was used by a command that loaded the configuration without reading secrets (a command that should contact no remote did).',
      remedy: 'Report it with the command line: the command must load its secrets.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
