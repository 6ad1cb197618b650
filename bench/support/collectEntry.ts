/**
 * `vigie collect` with only its own command registered: what the bin loads for
 * `collect` once sub-commands are registered lazily (the Node 24 runtime work), without
 * the chDB, rules and dashboard modules the full command tree imports today. The
 * collectors benchmark runs this so it measures the collector, not the other commands.
 */
import { Command } from 'commander';
import { registerCollectCommand } from '../../cli/commands/collect.ts';

const program = new Command('vigie').exitOverride().option('-c, --config <file>', 'YAML configuration file');
registerCollectCommand(program);
await program.parseAsync(process.argv);
