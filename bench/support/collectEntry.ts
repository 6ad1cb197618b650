/**
 * `vigie collect` with only its own command registered: what the bin loads for
 * `collect` once sub-commands are registered lazily (the Node 24 runtime work), without
 * the chDB, rules and dashboard modules the full command tree imports today. The
 * collectors benchmark runs this so it measures the collector, not the other commands.
 * Like bin/vigie.mjs it turns on Node's compile cache before loading any source: with
 * the cache warm, Node does not load its TypeScript stripper (~20 MB of RSS) for sources
 * it has already stripped.
 */
import * as nodeModule from 'node:module';

nodeModule.enableCompileCache?.();
const { Command } = await import('commander');
const { registerCollectCommand } = await import('../../cli/commands/collect.ts');
const program = new Command('vigie').exitOverride().option('-c, --config <file>', 'YAML configuration file');
registerCollectCommand(program);
await program.parseAsync(process.argv);
