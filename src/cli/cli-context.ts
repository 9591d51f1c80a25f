import type { Redactor } from '../logging/redactor.js';

/** What every command receives from the composition root. */
export interface CliContext {
  readonly redactor: Redactor;
  /** Where commands print their results (stdout). */
  readonly out: NodeJS.WritableStream;
  /** Where commands print problems (stderr). */
  readonly err: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Set the process exit code without exiting (lets servers drain). */
  setExitCode(code: number): void;
}
