/**
 * The `vigie` command and the composition root: the only place where stages are wired
 * together (collectors → transport → pipeline → tap → rules → notifiers; storage →
 * dashboards and post-mortem). Each sub-command validates its options up front.
 *
 * Registration is lazy: a sub-command's module (and with it chDB, Kafka, OpenTelemetry
 * or ECharts) is imported only when that sub-command runs, so `vigie --help` and light
 * commands such as `vigie detect` start in a few tens of milliseconds.
 */
import { Command } from 'commander';
import { ConfigError, describeError } from '../core/errors.ts';

/** A sub-command as the top-level help lists it, and how to load its full definition. */
export interface CommandEntry {
  readonly name: string;
  /** One line for `vigie --help`; the module's own description is shown by `vigie NAME --help`. */
  readonly summary: string;
  /** Imports the command's module and returns its `register…Command`. */
  readonly load: () => Promise<(program: Command) => void>;
  /**
   * V8 flags the bin starts this command's process with (it re-executes itself in place
   * when they are missing). Only V8 heap sizing that cannot change once the process runs.
   */
  readonly v8Flags?: readonly string[];
  /**
   * Environment variables the bin starts this command's process with, when the user has not
   * set them (read by the C library once, at start: too late from JavaScript). The bin
   * re-executes itself in place when one is missing, as for {@link v8Flags}.
   */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The collector lives beside the platform for months and allocates little but steadily
 * (parsed log lines, export batches): V8's default young generation (semi-spaces grown to
 * 16 MB under load) costs it more resident memory than its live heap. A 1 MB semi-space
 * keeps it under issue 12's 100 MB at 1,000 requests/s (bench:collectors) for a few more
 * scavenges, within its CPU target.
 */
export const COLLECTOR_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * `ingest` keeps one record per active series (decoder, limiter, sink and counter caches:
 * ~150 MB of live heap at 100,000 series) and allocates each batch's samples, columns and
 * overlays, which live across the batch's insert and so reach the old generation. With
 * V8's defaults the young generation grows to 2 × 64 MB and the old one to about twice
 * its live size: 16 MB semi-spaces and an old generation grown by 20 % over its live size
 * after a full GC take the peak RSS at 100,000 series from 935 to 654 MB (bench:pipeline,
 * same run), for ~17 % more CPU per sample (the more frequent full GCs; the semi-space
 * size alone costs no measurable CPU). Both are soft: no heap cap that could crash the
 * process near the cardinality limit (250,000 series). `node --heap-growing-percent=0
 * bin/vigie.mjs ingest …` gives V8's own growth back (a flag the user gives wins; Node
 * refuses this flag in NODE_OPTIONS).
 */
export const INGEST_V8_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--heap-growing-percent=20'];

/**
 * glibc gives each thread that allocates its own malloc arena (up to 8 per core), and
 * keeps what they freed: Node's worker threads (GC helpers, libuv pool) then hold 15–30 MB
 * more resident memory at 100,000 series (bench:pipeline). Two arenas cost `ingest` no
 * measurable CPU (the embedded engine's own allocations go to its jemalloc).
 */
export const INGEST_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** Every sub-command, in the order `vigie --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'demo', summary: 'Run a simulated exam morning end to end: pages as they happen, a summary, dashboards and a post-mortem.', load: async () => (await import('./commands/demo.ts')).registerDemoCommand },
  { name: 'simulate', summary: 'Simulate an exam morning and produce its OTLP telemetry to Kafka.', load: async () => (await import('./commands/simulate.ts')).registerSimulateCommand },
  { name: 'collect', summary: 'Run a live collector: host saturation and HTTP probes, exported as OTLP to Kafka.', load: async () => (await import('./commands/collect.ts')).registerCollectCommand, v8Flags: COLLECTOR_V8_FLAGS },
  { name: 'gateway', summary: 'Receive OTLP/HTTP (protobuf, JSON, gzip) and Prometheus remote write, and produce it to Kafka.', load: async () => (await import('./commands/gateway.ts')).registerGatewayCommand },
  { name: 'import', summary: 'Backfill history from an OpenMetrics / Prometheus text file into Kafka (for backtests of past incidents).', load: async () => (await import('./commands/import.ts')).registerImportCommand },
  { name: 'ingest', summary: 'Run the pipeline: Kafka → ClickHouse (exactly once), optionally with the rules engine.', load: async () => (await import('./commands/ingest.ts')).registerIngestCommand, v8Flags: INGEST_V8_FLAGS, env: INGEST_ENV },
  { name: 'silence', summary: 'Silence direct pages by label matchers, now or as a scheduled maintenance window.', load: async () => (await import('./commands/silence.ts')).registerSilenceCommand },
  { name: 'detect', summary: 'Score a timestamp,value CSV series for anomalies (vigie_anomaly_score).', load: async () => (await import('./commands/detect.ts')).registerDetectCommand },
  { name: 'rules', summary: 'Check rule files and backtest them over stored history.', load: async () => (await import('./commands/rules.ts')).registerRulesCommand },
  { name: 'dashboards', summary: 'Generate Grafana dashboards and provisioning for Vigie.', load: async () => (await import('./commands/dashboards.ts')).registerDashboardsCommand },
  { name: 'postmortem', summary: 'Post-mortem of a time window: timeline, pages and lead times; HTML/Markdown report.', load: async () => (await import('./commands/postmortem.ts')).registerPostmortemCommand },
  { name: 'query', summary: 'Run a saved post-mortem query with bound parameters; without a name, list them.', load: async () => (await import('./commands/query.ts')).registerQueryCommand },
  { name: 'plan', summary: 'Plan a session morning from the timetable and past mornings: expected load, risk, staggered starts, servers, capacity.', load: async () => (await import('./commands/plan.ts')).registerPlanCommand },
  { name: 'status', summary: 'Student-facing status notices: show, hold, edit, publish; serve the status page.', load: async () => (await import('./commands/status.ts')).registerStatusCommand },
  { name: 'schedule', summary: 'Import the exam timetable (CSV, JSON, iCalendar) and show its expected load against capacity.', load: async () => (await import('./commands/schedule.ts')).registerScheduleCommand },
  { name: 'store', summary: 'Serve an embedded database read-write so several ingest processes and rule evaluators share it.', load: async () => (await import('./commands/store.ts')).registerStoreCommand },
];

/** Global options that take a value (their value is not a sub-command name). */
const VALUE_OPTIONS = new Set(['-c', '--config']);

/** The sub-command `argv` (user arguments, without node and script) asks for, if any: `vigie [-c f] NAME …` or `vigie help NAME`. */
export function requestedCommand(args: readonly string[]): CommandEntry | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    const name = a === 'help' ? args[i + 1] : a;
    return COMMANDS.find((c) => c.name === name);
  }
  return undefined;
}

/**
 * Builds the command tree for `argv` (user arguments): the requested sub-command in full,
 * every other one as a name and summary only (enough for the help listing and for
 * commander's "unknown command" suggestions). With no `argv`, every command is loaded.
 */
export async function buildProgram(args?: readonly string[]): Promise<Command> {
  const program = new Command('vigie')
    .description('Vigie — the lookout for online exam platforms: OTLP collectors, Kafka, ClickHouse, forecasting alerts, Grafana dashboards.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .option('-c, --config <file>', 'YAML configuration file (see deploy/vigie.example.yml)');

  const wanted = args === undefined ? undefined : requestedCommand(args);
  for (const entry of COMMANDS) {
    if (args === undefined || entry === wanted) (await entry.load())(program);
    else program.command(entry.name).summary(entry.summary);
  }
  return program;
}

/** Runs the CLI; returns the process exit code. Errors print for people, not as stacks. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = await buildProgram(argv.slice(2));
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
