import { formatFinding } from '../../config/config-finding.js';
import { loadConfig } from '../../config/load-config.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { ConfigError } from '../../core/errors.js';
import type { CliContext } from '../cli-context.js';
import { openSyncRuntime, type SyncRuntime } from './sync-runtime.js';

/**
 * Load and validate the configuration for a command. Warnings go to stderr; errors are printed
 * all together and raised as one ConfigError (exit code 3).
 */
export function loadConfigForCommand(path: string, context: CliContext): ResolvedConfig {
  const loaded = loadConfig(path, { env: context.env, redactor: context.redactor });
  for (const finding of loaded.findings) {
    if (finding.severity === 'warning')
      context.err.write(`${context.redactor.scrub(formatFinding(finding))}\n`);
  }
  if (!loaded.ok) {
    const errors = loaded.findings.filter((f) => f.severity === 'error').map((f) => formatFinding(f));
    throw new ConfigError(
      `${path} is not valid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${errors.join('\n')}`,
    );
  }
  return loaded.config;
}

/** How a command uses the state store. */
export interface CommandStoreUse {
  /**
   * `create` (default) creates a missing SQLite store; `existing` fails with STORE_NOT_FOUND
   * instead (commands that read, or change what a run left: they must not leave an empty store
   * behind); `existing-or-empty` reads an empty in-memory store in its place (`plan` before the
   * first run).
   */
  store?: 'create' | 'existing' | 'existing-or-empty';
}

const ifMissingByUse = { create: 'create', existing: 'fail', 'existing-or-empty': 'empty' } as const;

/**
 * Load the configuration of a command (unless given loaded), open the runtime with logs on stderr (stdout carries only
 * the command's answer), run `fn`, and close the runtime whatever happens.
 */
export async function withCommandRuntime<T>(
  configOrPath: string | ResolvedConfig,
  context: CliContext,
  fn: (runtime: SyncRuntime) => Promise<T>,
  use: CommandStoreUse = {},
): Promise<T> {
  const config =
    typeof configOrPath === 'string' ? loadConfigForCommand(configOrPath, context) : configOrPath;
  const runtime = await openSyncRuntime(config, context.redactor, {
    logDestination: context.err,
    storeIfMissing: ifMissingByUse[use.store ?? 'create'],
  });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

/**
 * {@link withCommandRuntime} for commands that read what a run left (or change only that): a
 * missing SQLite store is STORE_NOT_FOUND (exit code 5), never an empty file left behind.
 */
export function withExistingStore<T>(
  configOrPath: string | ResolvedConfig,
  context: CliContext,
  fn: (runtime: SyncRuntime) => Promise<T>,
): Promise<T> {
  return withCommandRuntime(configOrPath, context, fn, { store: 'existing' });
}

/** {@link withCommandRuntime} for `plan`: a missing SQLite store reads as an empty one, in memory. */
export function withStoreOrEmpty<T>(
  configOrPath: string | ResolvedConfig,
  context: CliContext,
  fn: (runtime: SyncRuntime) => Promise<T>,
): Promise<T> {
  return withCommandRuntime(configOrPath, context, fn, { store: 'existing-or-empty' });
}
