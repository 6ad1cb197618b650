/**
 * `vigie postmortem --from T --to T`: the post-mortem of a window. Prints the text
 * timeline (pages, lead times, per-faculty peaks); with `--out DIR` also writes
 * `report.html` (self-contained, charts inline) and `report.md`, with a progress bar on
 * stderr. `writePostmortemReport` is re-exported for in-process callers (the demo).
 */
import { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { explainMissingDatabase, openReaderStorage } from '../storage.ts';
import { formatPostmortemText, postmortem } from '../../postmortem/index.ts';
import { writePostmortemReport } from '../../postmortem/reportFiles.ts';
import { floatOption, timeOption } from '../options.ts';

export { writePostmortemReport };

interface PostmortemFlags {
  readonly from: number;
  readonly to: number;
  readonly faculty?: string;
  readonly out?: string;
  readonly clickhouseUrl?: string;
  readonly chdbPath?: string;
  readonly database: string;
  readonly collapseErrorRatio?: number;
  readonly utilization?: number;
  readonly p95?: number;
}

/** Registers `vigie postmortem`. */
export function registerPostmortemCommand(program: Command): void {
  program
    .command('postmortem')
    .description('Post-mortem of a time window: text timeline with pages and lead times; with --out, report.html (charts) and report.md.')
    .requiredOption('--from <time>', 'window start (ISO 8601, e.g. 2026-01-12T08:30:00Z, or epoch ms)', timeOption('--from'))
    .requiredOption('--to <time>', 'window end (ISO 8601 or epoch ms)', timeOption('--to'))
    .option('--faculty <name>', 'restrict to one faculty')
    .option('--out <dir>', 'also write report.html and report.md into this directory')
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL (default: embedded chDB, read through the endpoint of the Vigie process holding it)')
    .option('--chdb-path <dir>', 'embedded chDB data directory (default .vigie/chdb, the one every command uses)')
    .option('--database <name>', 'database holding Vigie tables', 'vigie')
    .option('--collapse-error-ratio <r>', 'error ratio that counts as a collapse (default 0.5)', floatOption('--collapse-error-ratio'))
    .option('--utilization <u>', 'utilization that counts as a deviation (default 0.8)', floatOption('--utilization'))
    .option('--p95 <seconds>', 'p95 latency that counts as a deviation (default 2, as the latency rule)', floatOption('--p95'))
    .action(async (flags: PostmortemFlags) => {
      if (flags.from > flags.to) throw new ConfigError(`--from (${new Date(flags.from).toISOString()}) is after --to (${new Date(flags.to).toISOString()})`);
      const { storage, via } = openReaderStorage(flags, 'vigie postmortem');
      process.stderr.write(`vigie postmortem: reading ${via}\n`);
      const opts = {
        database: storage.database,
        fromMs: flags.from,
        toMs: flags.to,
        ...(flags.faculty !== undefined ? { faculty: flags.faculty } : {}),
        ...(flags.collapseErrorRatio !== undefined ? { collapseErrorRatio: flags.collapseErrorRatio } : {}),
        ...(flags.utilization !== undefined ? { utilizationThreshold: flags.utilization } : {}),
        ...(flags.p95 !== undefined ? { p95ThresholdSeconds: flags.p95 } : {}),
      };
      try {
        if (flags.out) {
          const { files, text } = await writePostmortemReport(storage.client, { ...opts, outDir: flags.out });
          process.stdout.write(text);
          process.stdout.write(`\n${files.map((f) => `wrote ${f}`).join('\n')}\n`);
        } else {
          process.stdout.write(formatPostmortemText(await postmortem(storage.client, opts)));
        }
      } catch (err) {
        throw explainMissingDatabase(err, storage, storage.chdbPath);
      } finally {
        await storage.close();
      }
    });
}
