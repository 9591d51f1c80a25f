import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

/** Placeholder until the owning issue lands. */
export function registerValidateCommand(program: Command, _context: CliContext): void {
  void program;
}
