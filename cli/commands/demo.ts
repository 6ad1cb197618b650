/**
 * `vigie demo`: one simulated exam morning through the whole chain, on the embedded
 * defaults (in-process transport + chDB) or on a real Kafka / ClickHouse. Prints pages
 * as they fire, a progress line (also while the pipeline drains), then a summary whose
 * collapse and lead time are the post-mortem's own; writes dashboards and a post-mortem.
 * It serves the embedded database read-only while it runs, and it never reports on
 * partial data: when the pipeline did not store everything, it says what was lost and
 * exits non-zero.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { AlertTransition } from '../../rules/index.ts';
import { VigieError } from '../../core/errors.ts';
import { buildDashboards } from '../../dashboards/index.ts';
import { DEFAULT_CHDB_PATH } from '../../pipeline/index.ts';
import { headlineLines } from '../../postmortem/format.ts';
import { writePostmortemReport, type PostmortemReport } from '../../postmortem/index.ts';
import { resolveMorningOptions } from '../../simulator/index.ts';
import { readStatusState, renderStatusPage } from '../../status/index.ts';
import { runMorningChain, defaultMorningStart, type ChainProgress, type MorningChainResult } from '../chain.ts';
import { floatOption, kafkaOption, DEFAULT_RULES_FILE } from '../options.ts';
import { dataDirOf, DEFAULT_HTTP_PORT, httpPortOption, openWriterStorage } from '../storage.ts';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly kafka?: string;
  readonly clickhouseUrl?: string;
  /** Embedded data directory (default `.vigie/chdb`, the one every command reads). */
  readonly chdbPath?: string;
  readonly out: string;
  readonly seed: number;
  readonly capacity: number;
  readonly compression: number;
  readonly alertmanager?: string;
  readonly webhook?: string[];
  readonly rules?: string;
  readonly httpHost?: string;
  readonly httpPort?: number;
  /** Serve the read endpoint while the demo runs (default true). */
  readonly http?: boolean;
  /** Keep serving after the summary until interrupted (for Grafana). */
  readonly keepServing?: boolean;
  /** Give up draining after this long without progress (default 120 s). */
  readonly drainStallMs?: number;
  /** Also post the student-facing status notices to these webhooks. */
  readonly statusWebhook?: string[];
  /** Plan the morning first and store the plan, so the rules read its expected load. */
  readonly plan?: boolean;
}

/** What a demo produced: the chain's result and the report built on it (null when the data is incomplete). */
export interface DemoResult extends MorningChainResult {
  readonly report: PostmortemReport | null;
}

/** A demo whose pipeline did not store every exported sample: the CLI exits 1 with this message. */
export class DemoIncompleteError extends VigieError {
  constructor(r: Pick<MorningChainResult, 'missingSamples' | 'exportedSamples'>) {
    super(`demo incomplete: ${r.missingSamples.toLocaleString('en')} of ${r.exportedSamples.toLocaleString('en')} exported samples were not stored; nothing was reported on partial data`);
  }
}
/** Exit code of a demo that paged only after the collapse (or never). */
export const EXIT_LATE = 3;

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

function rejectedText(rejected: Readonly<Record<string, number>>): string {
  const parts = Object.entries(rejected).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length ? `, rejected: ${parts.join(', ')}` : '';
}

const positiveOption = (flag: string) => (v: string): number => {
  const n = floatOption(flag)(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${flag} expects a positive number of seconds, got "${v}"`);
  return n;
};

/** Registers `vigie demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Run a simulated exam morning end to end (embedded defaults, or real Kafka/ClickHouse): pages as they fire, a summary, Grafana dashboards and a post-mortem. The embedded database `vigie` in --chdb-path is replaced by the demo\'s; it is served read-only over HTTP while the demo runs. Exits 1, saying what was lost, when the pipeline did not store every exported sample.',
    )
    .option('--kafka <host:port>', 'use this Kafka broker instead of the in-process transport', kafkaOption)
    .option('--clickhouse-url <url>', 'use this ClickHouse server instead of embedded chDB')
    .option('--chdb-path <dir>', 'embedded chDB data directory, the one every command reads by default', DEFAULT_CHDB_PATH)
    .option('--out <dir>', 'where to write dashboards and the report', 'out/demo')
    .option('--seed <n>', 'simulator seed', floatOption('--seed'), 42)
    .option('--capacity <factor>', 'platform capacity factor (1 = collapse-prone, 2.5 = ample)', floatOption('--capacity'), 1)
    .option('--compression <factor>', 'simulated seconds per real second (0 = as fast as possible)', floatOption('--compression'), 180)
    .option('--alertmanager <url>', 'also send alerts to this Alertmanager (API v2)')
    .option('--webhook <url...>', 'also send alerts to these webhooks (Alertmanager webhook format v4)')
    .option('--rules <file>', 'rule file', DEFAULT_RULES_FILE)
    .option('--status-webhook <url...>', "also post the student-facing status notices to these webhooks (a CMS or intranet)")
    .option('--http-host <host>', 'interface of the read-only ClickHouse-compatible endpoint', '127.0.0.1')
    .option('--http-port <port>', 'its port (0 = any free port; a taken default falls back to a free one)', httpPortOption, DEFAULT_HTTP_PORT)
    .option('--no-http', 'do not serve the embedded database while the demo runs')
    .option('--keep-serving', 'after the summary, keep serving the database (Grafana, vigie query) until Ctrl-C')
    .option('--plan', "plan the morning before it starts and store the plan (as vigie plan --demo --store), so the rules read the plan's expected load instead of the timetable's")
    .option('--drain-stall <seconds>', 'give up waiting for the pipeline after this long without progress', positiveOption('--drain-stall'), 120)
    .action(async (opts: DemoOptions & { drainStall: number }) => {
      const result = await runDemo({ ...opts, drainStallMs: opts.drainStall * 1000 });
      // Thrown rather than set as process.exitCode, which the entry point overwrites with main()'s code.
      if (!result.complete) throw new DemoIncompleteError(result);
      if (result.report?.collapse && !(result.report.leadTimeMs !== null && result.report.leadTimeMs > 0)) process.exitCode = EXIT_LATE;
    });
}

/** Runs the demo; prints to stdout (pages, summary) and stderr (progress). */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const out = resolve(opts.out);
  const chdbPath = dataDirOf(opts);
  const sim = resolveMorningOptions({ start: defaultMorningStart(), seed: opts.seed, capacity: opts.capacity, compression: opts.compression > 0 ? opts.compression : Infinity });
  const endMs = sim.start + sim.durationMs;
  rmSync(join(out, 'alert-state.json'), { force: true });
  const statusState = join(out, 'status', 'status.json');
  rmSync(join(out, 'status'), { recursive: true, force: true });
  mkdirSync(join(out, 'status'), { recursive: true });
  mkdirSync(out, { recursive: true });
  const log = (line: string) => process.stderr.write(line + '\n');
  const held = await openWriterStorage({
    ...(opts.clickhouseUrl ? { clickhouseUrl: opts.clickhouseUrl } : { chdbPath }),
    database: 'vigie',
    command: 'demo',
    serve: opts.http === false ? null : { host: opts.httpHost ?? '127.0.0.1', port: opts.httpPort ?? DEFAULT_HTTP_PORT },
    fallbackToFreePort: true,
    log,
  });
  const storage = held.storage;
  // A demo is a self-contained scenario: it starts from an empty database.
  await storage.client.command({ query: `DROP DATABASE IF EXISTS \`${storage.database}\`` });
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const progress = (p: ChainProgress) => {
    const rules = p.watermarkMs === null ? '--:--:--' : hhmmss(p.watermarkMs);
    const line =
      p.phase === 'morning'
        ? `[sim ${hhmmss(p.simNowMs)} · rules at ${rules}] exported ${p.exportedSamples.toLocaleString('en')} samples · stored ${p.storedSamples.toLocaleString('en')} · firing ${p.firing}`
        : `[draining · rules at ${rules}] stored ${p.storedSamples.toLocaleString('en')} of ${p.exportedSamples.toLocaleString('en')} exported samples · firing ${p.firing}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (p.phase === 'draining' ? Date.now() - lastLine >= 10_000 : p.simNowMs - lastLine >= 15 * 60_000) {
      lastLine = p.phase === 'draining' ? Date.now() : p.simNowMs;
      process.stderr.write(line + '\n');
    }
  };
  const onAlert = (t: AlertTransition) => {
    const what = t.annotations['summary'] ?? t.rule;
    const mark = t.state === 'firing' ? (t.labels['severity'] === 'page' ? 'PAGE    ' : 'WARN    ') : 'RESOLVED';
    if (tty) process.stderr.write('\r\x1b[K');
    process.stdout.write(`${mark} ${hhmmss(t.at)}  ${t.rule}{faculty="${t.labels['faculty'] ?? '*'}"}  ${what}\n`);
  };
  const window = `--from ${new Date(sim.start).toISOString()} --to ${new Date(endMs).toISOString()}`;
  process.stdout.write(
    [
      `Vigie demo: a simulated exam morning (seed ${opts.seed}, capacity ×${opts.capacity}) on ${opts.kafka ? `Kafka ${opts.kafka}` : 'the in-process transport'} and ${opts.clickhouseUrl ? `ClickHouse ${opts.clickhouseUrl}` : `embedded chDB`}`,
      ...(storage.chdbPath ? [`data directory         ${storage.chdbPath} (database ${storage.database}; every vigie command reads it by default)`] : []),
      ...(held.endpoint ? [`read-only endpoint     ${held.endpoint.url} (ClickHouse HTTP; in another terminal: vigie postmortem ${window})`] : []),
      '',
    ].join('\n'),
  );
  try {
    const result = await runMorningChain({
      ...(opts.kafka ? { kafkaBrokers: [opts.kafka] } : {}),
      storage,
      rulesFile: opts.rules ?? DEFAULT_RULES_FILE,
      ...(opts.alertmanager ? { alertmanagerUrl: opts.alertmanager } : {}),
      webhookUrls: opts.webhook ?? [],
      journalDir: join(out, 'outbox'),
      statePath: join(out, 'alert-state.json'),
      status: { statePath: statusState, webhookUrls: opts.statusWebhook ?? [] },
      sim,
      ...(opts.plan ? { planMorning: true } : {}),
      onAlert,
      onProgress: progress,
      ...(opts.drainStallMs !== undefined ? { drainStallMs: opts.drainStallMs } : {}),
      log,
    });
    if (tty) process.stderr.write('\r\x1b[K');

    const grafanaDir = join(out, 'grafana');
    const endpointPort = held.endpoint?.port;
    const grafana = buildDashboards({
      outDir: grafanaDir,
      database: storage.database,
      datasourceUid: 'vigie-clickhouse',
      ...(held.endpoint ? { host: new URL(held.endpoint.url).hostname, ...(endpointPort !== undefined ? { port: endpointPort } : {}) } : {}),
    });
    const t = result.truth;
    const lines = ['', '── Summary ─────────────────────────────────────────────'];
    lines.push(`simulated morning      ${hhmmss(t.startMs)} → ${hhmmss(t.endMs)} UTC (${new Date(t.startMs).toISOString().slice(0, 10)}), ${(result.wallMs / 1000).toFixed(1)} s wall`);
    lines.push(
      `samples                ${result.exportedSamples.toLocaleString('en')} exported, ${result.storedSamples.toLocaleString('en')} stored, ${result.pipeline.dlq} messages to DLQ${rejectedText(result.pipeline.rejected)}`,
    );
    let report: PostmortemReport | null = null;
    if (!result.complete) {
      lines.push(
        `INCOMPLETE             the pipeline stopped making progress: ${result.missingSamples.toLocaleString('en')} exported samples were not stored (${result.lagMessages} messages were uncommitted when it gave up).`,
        `                       No collapse, lead time or post-mortem is reported on partial data; rerun on a less busy`,
        `                       machine or with a longer --drain-stall (now ${(opts.drainStallMs ?? 120_000) / 1000} s).`,
      );
    } else {
      const written = await writePostmortemReport(storage.client, { database: storage.database, fromMs: t.startMs, toMs: t.endMs, outDir: join(out, 'postmortem') });
      report = written.report;
      const reportFile = join(out, 'postmortem', 'postmortem.txt');
      writeFileSync(reportFile, written.text + '\n');
      lines.push(...headlineLines(report));
      lines.push(`files written          ${grafana.files.length} Grafana files under ${grafanaDir}${held.endpoint ? ` (data source: ${held.endpoint.url}, served with --keep-serving)` : ''}`);
      lines.push(`                       Grafana: provisioning in ${join(grafanaDir, 'provisioning')}, run with VIGIE_DASHBOARDS_DIR=${join(grafanaDir, 'dashboards')}`);
      lines.push(...[reportFile, ...written.files].map((f) => `                       post-mortem: ${f}`));
      // What students were told: the status page as the morning left it (notices cleared on resolve).
      const notices = readStatusState(statusState).notices;
      const statusPage = join(out, 'status', 'index.html');
      writeFileSync(statusPage, renderStatusPage(notices, report.collapse?.minuteMs ?? t.endMs));
      lines.push(`                       student status page: ${statusPage} (${notices.length} notice(s), French and English)`);
      lines.push(`again, from the data   vigie postmortem ${window}${opts.chdbPath && resolve(opts.chdbPath) !== resolve(DEFAULT_CHDB_PATH) ? ` --chdb-path ${opts.chdbPath}` : ''}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    if (opts.keepServing && held.endpoint) {
      process.stderr.write(`vigie demo: serving ${storage.chdbPath} at ${held.endpoint.url} until Ctrl-C\n`);
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r()).once('SIGTERM', () => r());
      });
    }
    return { ...result, report };
  } finally {
    await held.close();
  }
}
