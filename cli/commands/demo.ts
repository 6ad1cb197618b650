/**
 * `vigie demo`: one simulated exam morning through the whole chain, on the embedded
 * defaults (in-process transport + chDB) or on a real Kafka / ClickHouse. Prints pages
 * as they happen, a progress line, then a summary; writes dashboards and a post-mortem.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { AlertTransition } from '../../alerts/index.ts';
import { buildDashboards } from '../../dashboards/index.ts';
import { createStorage } from '../../pipeline/index.ts';
import { writePostmortemReport } from '../../postmortem/index.ts';
import { runMorningChain, type ChainProgress, type MorningChainResult } from '../chain.ts';
import { floatOption, kafkaOption, DEFAULT_RULES_FILE } from '../options.ts';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly kafka?: string;
  readonly clickhouseUrl?: string;
  readonly out: string;
  readonly seed: number;
  readonly capacity: number;
  readonly compression: number;
  readonly alertmanager?: string;
  readonly webhook?: string[];
  readonly rules?: string;
}

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const fmtMin = (ms: number) => `${ms < 0 ? '-' : ''}${Math.floor(Math.abs(ms) / 60_000)} min ${Math.round((Math.abs(ms) % 60_000) / 1000)} s`;

function rejectedText(rejected: Readonly<Record<string, number>>): string {
  const parts = Object.entries(rejected).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length ? `, rejected: ${parts.join(', ')}` : '';
}

/** Registers `vigie demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a simulated exam morning end to end (embedded defaults, or real Kafka/ClickHouse): pages as they happen, a summary, Grafana dashboards and a post-mortem.')
    .option('--kafka <host:port>', 'use this Kafka broker instead of the in-process transport', kafkaOption)
    .option('--clickhouse-url <url>', 'use this ClickHouse server instead of embedded chDB')
    .option('--out <dir>', 'where to write dashboards, the report and the embedded database', 'out/demo')
    .option('--seed <n>', 'simulator seed', floatOption('--seed'), 42)
    .option('--capacity <factor>', 'platform capacity factor (1 = collapse-prone, 2.5 = ample)', floatOption('--capacity'), 1)
    .option('--compression <factor>', 'simulated seconds per real second (0 = as fast as possible)', floatOption('--compression'), 180)
    .option('--alertmanager <url>', 'also send alerts to this Alertmanager (API v2)')
    .option('--webhook <url...>', 'also send alerts to these webhooks (Alertmanager webhook format v4)')
    .option('--rules <file>', 'rule file', DEFAULT_RULES_FILE)
    .action(async (opts: DemoOptions) => {
      const result = await runDemo(opts);
      if (result.leadTimeMs === null && result.truth.collapseAtMs !== null) process.exitCode = 3;
    });
}

/** Runs the demo; prints to stdout (pages, summary) and stderr (progress). */
export async function runDemo(opts: DemoOptions): Promise<MorningChainResult> {
  const out = resolve(opts.out);
  const chdbPath = join(out, 'chdb');
  // A demo is a self-contained scenario: start from an empty embedded database.
  if (!opts.clickhouseUrl) rmSync(chdbPath, { recursive: true, force: true });
  rmSync(join(out, 'alert-state.json'), { force: true });
  mkdirSync(out, { recursive: true });
  const storage = createStorage(opts.clickhouseUrl ? { url: opts.clickhouseUrl, database: 'vigie' } : { chdbPath, database: 'vigie' });
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const progress = (p: ChainProgress) => {
    const line = `[sim ${hhmmss(p.simNowMs)}] exported ${p.exportedSamples.toLocaleString('en')} samples · stored ${p.storedSamples.toLocaleString('en')} · firing ${p.firing}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (p.simNowMs - lastLine >= 15 * 60_000) {
      lastLine = p.simNowMs;
      process.stderr.write(line + '\n');
    }
  };
  const onAlert = (t: AlertTransition) => {
    const what = t.annotations['summary'] ?? t.rule;
    const mark = t.state === 'firing' ? (t.labels['severity'] === 'page' ? 'PAGE    ' : 'WARN    ') : 'RESOLVED';
    if (tty) process.stderr.write('\r\x1b[K');
    process.stdout.write(`${mark} ${hhmmss(t.at)}  ${t.rule}{faculty="${t.labels['faculty'] ?? '*'}"}  ${what}\n`);
  };
  process.stdout.write(
    `Vigie demo: a simulated exam morning (seed ${opts.seed}, capacity ×${opts.capacity}) on ${opts.kafka ? `Kafka ${opts.kafka}` : 'the in-process transport'} and ${opts.clickhouseUrl ? `ClickHouse ${opts.clickhouseUrl}` : `embedded chDB (${chdbPath})`}\n`,
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
      sim: { seed: opts.seed, capacity: opts.capacity, compression: opts.compression > 0 ? opts.compression : Infinity },
      onAlert,
      onProgress: progress,
    });
    if (tty) process.stderr.write('\r\x1b[K');

    const grafana = buildDashboards({ outDir: join(out, 'grafana'), database: storage.database, datasourceUid: 'vigie-clickhouse' });
    const report = await writePostmortemReport(storage.client, { database: storage.database, fromMs: result.truth.startMs, toMs: result.truth.endMs, outDir: join(out, 'postmortem') });
    const reportFile = join(out, 'postmortem', 'postmortem.txt');
    writeFileSync(reportFile, report.text + '\n');

    const t = result.truth;
    const lines = [
      '',
      '── Summary ─────────────────────────────────────────────',
      `simulated morning      ${hhmmss(t.startMs)} → ${hhmmss(t.endMs)} UTC (${new Date(t.startMs).toISOString().slice(0, 10)}), ${(result.wallMs / 1000).toFixed(1)} s wall`,
      `collapse (simulated)   ${t.collapseAtMs === null ? 'none' : `${hhmmss(t.collapseAtMs)} (${t.collapsedFaculties.join(', ')})`}`,
      `first page             ${result.firstPage ? `${hhmmss(result.firstPage.at)} ${result.firstPage.rule}{faculty="${result.firstPage.labels['faculty'] ?? '*'}"}` : 'none'}`,
      `lead time              ${result.leadTimeMs === null ? 'n/a' : `${fmtMin(result.leadTimeMs)} ${result.leadTimeMs > 0 ? 'before' : 'AFTER'} the collapse`}`,
      `alert transitions      ${result.transitions.filter((x) => x.state === 'firing').length} fired, ${result.transitions.filter((x) => x.state === 'resolved').length} resolved`,
      `samples                ${result.exportedSamples.toLocaleString('en')} exported, ${result.storedSamples.toLocaleString('en')} stored, ${result.pipeline.dlq} messages to DLQ${rejectedText(result.pipeline.rejected)}`,
      `files written          ${grafana.files.length} Grafana files under ${join(out, 'grafana')}`,
      ...[reportFile, ...report.files].map((f) => `                       post-mortem: ${f}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return result;
  } finally {
    await storage.close();
  }
}
