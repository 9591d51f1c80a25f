import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { FlowControl } from '../../engine/flow-control.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { resolveFlowId } from '../runtime/build-flows.js';
import { loadConfigForCommand, withCommandRuntime } from '../runtime/load-config-for-command.js';

interface FlowOptions {
  config: string;
  flow: string;
  acceptMassChange?: boolean;
  reason?: string;
}

async function control(
  options: FlowOptions,
  context: CliContext,
  action: 'pause' | 'resume',
): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  const flowId = resolveFlowId(config, options.flow);
  if (!flowId) throw new ConfigError(`no enabled flow "${options.flow}"`);
  return withCommandRuntime(config, context, async (runtime) => {
    const flows = new FlowControl(runtime.store, runtime.clock);
    await flows.refresh([flowId]);
    if (action === 'pause') await flows.pause(flowId, options.reason ?? 'paused by operator');
    else await flows.resume(flowId, options.acceptMassChange ?? false);
    await runtime.store.audit.append([
      {
        at: runtime.clock.now(),
        actor: 'cli',
        action: `flow.${action}`,
        flow: flowId,
        recordKey: null,
        fields: [],
        outcome: 'ok',
        detail: options.acceptMassChange ? 'mass change accepted' : null,
      },
    ]);
    context.out.write(`flow ${flowId} ${action === 'pause' ? 'paused' : 'resumed'}\n`);
    return exitCodes.ok;
  });
}

export function registerFlowCommand(program: Command, context: CliContext): void {
  const flow = program.command('flow').description('pause or resume a flow');
  flow
    .command('pause')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--flow <flow>', 'flow id or table')
    .option('--reason <text>', 'why (shown in status)')
    .action(async (options: FlowOptions) => context.setExitCode(await control(options, context, 'pause')));
  flow
    .command('resume')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--flow <flow>', 'flow id or table')
    .option('--accept-mass-change', 'let the run that tripped the mass-change breaker continue')
    .action(async (options: FlowOptions) => context.setExitCode(await control(options, context, 'resume')));
}
