/**
 * The `vigie` command and the composition root: the only place where stages are wired
 * together (collectors → transport → pipeline → tap → rules → notifiers; storage →
 * dashboards and post-mortem). Each sub-command validates its options up front.
 */
import { Command } from 'commander';
import { registerCollectCommand } from './commands/collect.ts';
import { registerDashboardsCommand } from './commands/dashboards.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDetectCommand } from './commands/detect.ts';
import { registerGatewayCommand } from './commands/gateway.ts';
import { registerImportCommand } from './commands/import.ts';
import { registerIngestCommand } from './commands/ingest.ts';
import { registerPostmortemCommand } from './commands/postmortem.ts';
import { registerQueryCommand } from './commands/query.ts';
import { registerRulesCommand } from './commands/rules.ts';
import { registerSilenceCommand } from './commands/silence.ts';
import { registerSimulateCommand } from './commands/simulate.ts';
import { ConfigError, describeError } from '../core/errors.ts';

/** Builds the command tree: one `register…Command` per sub-command. */
export function buildProgram(): Command {
  const program = new Command('vigie')
    .description('Vigie — the lookout for online exam platforms: OTLP collectors, Kafka, ClickHouse, forecasting alerts, Grafana dashboards.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .option('-c, --config <file>', 'YAML configuration file (see deploy/vigie.example.yml)');

  registerDemoCommand(program);
  registerSimulateCommand(program);
  registerCollectCommand(program);
  registerGatewayCommand(program);
  registerImportCommand(program);
  registerIngestCommand(program);
  registerSilenceCommand(program);
  registerDetectCommand(program);
  registerRulesCommand(program);
  registerDashboardsCommand(program);
  registerPostmortemCommand(program);
  registerQueryCommand(program);

  return program;
}

/** Runs the CLI; returns the process exit code. Errors print for people, not as stacks. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    if (err instanceof ConfigError) {
      process.stderr.write(`vigie: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`vigie: ${describeError(err)}\n`);
    return 1;
  }
}
