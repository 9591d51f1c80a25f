import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { registerValidateCommand } from './validate-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerRunCommand } from './run-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerDlqCommand } from './dlq-command.js';
import { registerParkedCommand } from './parked-command.js';
import { registerTraceCommand } from './trace-command.js';
import { registerRunsCommand } from './runs-command.js';
import { registerReplayCommand } from './replay-command.js';
import { registerFlowCommand } from './flow-command.js';
import { registerPlanCommand } from './plan-command.js';
import { registerConfigCommand } from './config-command.js';
import { registerOptOutCommand } from './optout-command.js';
import { registerPrivacyCommand } from './privacy-command.js';
import { registerEmulateDynamicsCommand } from './emulate-dynamics-command.js';
import { registerEmulateCampaignCommand } from './emulate-campaign-command.js';

/** Every command of `dcsync`, in help order. */
export function registerCommands(program: Command, context: CliContext): void {
  registerDemoCommand(program, context);
  registerValidateCommand(program, context);
  registerDoctorCommand(program, context);
  registerRunCommand(program, context);
  registerStatusCommand(program, context);
  registerPlanCommand(program, context);
  registerReplayCommand(program, context);
  registerRunsCommand(program, context);
  registerDlqCommand(program, context);
  registerParkedCommand(program, context);
  registerTraceCommand(program, context);
  registerFlowCommand(program, context);
  registerPrivacyCommand(program, context);
  registerOptOutCommand(program, context);
  registerConfigCommand(program, context);
  const emulate = program.command('emulate').description('run a local emulator of a remote service');
  registerEmulateDynamicsCommand(emulate, context);
  registerEmulateCampaignCommand(emulate, context);
}
