/**
 * `vigie rules check FILE` (parse and validate a rule file, list its groups and rules)
 * and `vigie rules backtest` (replay stored history through the rules engine and report
 * the alerts that would have fired, with lead times against the stored collapses).
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { backtest, type BacktestResult } from '../../rules/backtest/index.ts';
import { formatDuration, loadRuleFile, parseDuration, requiredRetentionMs, type RuleGroup } from '../../rules/index.ts';
import { checkRuleInputs, formatInputsReport } from '../../rules/inputs.ts';
import { ConfigError } from '../../core/errors.ts';
import { qualifiedTable } from '../../schema/queries.ts';
import { SERIES, TABLES } from '../../schema/tables.ts';
import { explainMissingDatabase, openReaderStorage } from '../storage.ts';
import { loadStoredPlans } from '../plans.ts';
import { planOverride } from '../../planner/index.ts';
import type { ExpectedLoadOverride } from '../../rules/stage.ts';
import { formatLead } from '../../postmortem/index.ts';
import { DEFAULT_RULES_FILE, timeOption } from '../options.ts';

/** Options of `vigie rules backtest`. */
export interface RulesBacktestOptions {
  readonly rules: string;
  readonly from: number;
  readonly to: number;
  readonly step?: number;
  readonly chdbPath?: string;
  readonly clickhouseUrl?: string;
  readonly database: string;
  readonly format: 'table' | 'json';
  /** `--no-schedule` sets false: replay without the timetable's expected-load series. */
  readonly schedule?: boolean;
  /** `--no-plan` sets false: the timetable's expected load even where a stored plan covers. */
  readonly plan?: boolean;
}

function durationOption(flag: string): (v: string) => number {
  return (v) => {
    try {
      return parseDuration(v);
    } catch {
      throw new InvalidArgumentError(`${flag} expects a duration such as 15s or 1m, got "${v}"`);
    }
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** Human-readable listing of a checked rule file. */
export function formatRuleCheck(file: string, groups: readonly RuleGroup[]): string {
  const lines = [`${file}: OK — ${groups.length} group(s), ${groups.reduce((n, g) => n + g.rules.length, 0)} rule(s); needs ${formatDuration(requiredRetentionMs(groups))} of history per evaluation`];
  for (const g of groups) {
    lines.push(`  group ${g.name}${g.intervalMs !== undefined ? ` (every ${formatDuration(g.intervalMs)})` : ''}`);
    for (const r of g.rules) {
      if (r.kind === 'record') lines.push(`    record ${r.name}`);
      else {
        const timing = [r.forMs ? `for ${formatDuration(r.forMs)}` : '', r.keepFiringForMs ? `keep_firing_for ${formatDuration(r.keepFiringForMs)}` : ''].filter(Boolean).join(', ');
        const sev = r.labels['severity'] ? ` [${r.labels['severity']}]` : '';
        lines.push(`    alert  ${r.name}${sev}${timing ? ` (${timing})` : ''}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** The backtest result as a table (ends with a newline). */
export function formatBacktestTable(r: BacktestResult): string {
  const lines = [
    `Backtest ${iso(r.fromMs)} → ${iso(r.toMs)}, every ${formatDuration(r.stepMs)}: ${r.evaluations.length} evaluations over ${r.samplesRead.toLocaleString('en')} samples of ${r.seriesRead.toLocaleString('en')} series`,
    r.collapses.length
      ? `Collapses (first minute with 5xx ratio > 0.5): ${r.collapses.map((c) => `${c.faculty} ${hhmmss(c.minuteMs)} (${(c.errorRatio * 100).toFixed(0)}%)`).join(', ')}`
      : 'Collapses: none',
    '',
  ];
  if (!r.alerts.length) lines.push('No alert would have fired.');
  else {
    const rows = r.alerts.map((a) => {
      const labels = Object.entries(a.labels)
        .filter(([k]) => k !== 'alertname' && k !== 'severity')
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return [
        hhmmss(a.firedAt),
        a.resolvedAt !== undefined ? hhmmss(a.resolvedAt) : '-',
        a.labels['severity'] ?? '-',
        a.rule,
        labels ? `{${labels}}` : '',
        a.leadTimeMs !== undefined ? `${formatLead(a.leadTimeMs)} vs ${a.leadTimeAgainst}` : '-',
      ];
    });
    const head = ['FIRED', 'RESOLVED', 'SEVERITY', 'RULE', 'LABELS', 'LEAD'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const fmt = (row: readonly string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    lines.push(fmt(head), ...rows.map(fmt));
  }
  for (const e of r.ruleErrors) lines.push(`rule error ×${e.count}: ${e.group}/${e.rule}: ${e.error}`);
  return lines.join('\n') + '\n';
}

/**
 * `--against STORE`: the series the store holds, checked against the pack's selectors
 * (see `rules/inputs.ts`). A chDB directory must exist: a typo must not create an empty store.
 */
export async function checkAgainstStore(groups: readonly RuleGroup[], store: string, database: string): Promise<string> {
  const isUrl = /^https?:\/\//.test(store);
  // The reader path: a running vigie ingest/demo is read through its endpoint.
  const { storage } = openReaderStorage({ database, ...(isUrl ? { clickhouseUrl: store } : { chdbPath: store }) }, `rules check --against ${store}`);
  try {
    const rs = await storage.client.query({
      query: `SELECT ${SERIES.metric} AS metric, CAST(${SERIES.labels}, 'Map(String, String)') AS labels FROM ${qualifiedTable({ database }, TABLES.series)} GROUP BY metric, labels`,
      format: 'JSONEachRow',
    });
    const stored = await rs.json<{ metric: string; labels: Record<string, string> }>();
    const metrics = new Set(stored.map((s) => s.metric)).size;
    return formatInputsReport(`${store} (database ${database})`, stored.length, metrics, checkRuleInputs(groups, stored));
  } finally {
    await storage.close();
  }
}

/** Runs `vigie rules backtest`; prints the result and returns it. */
export async function runRulesBacktest(opts: RulesBacktestOptions): Promise<BacktestResult> {
  if (opts.chdbPath !== undefined && opts.clickhouseUrl !== undefined) {
    throw new ConfigError('rules backtest: give either --chdb-path or --clickhouse-url, not both');
  }
  if (opts.from > opts.to) throw new ConfigError(`rules backtest: --from (${iso(opts.from)}) is after --to (${iso(opts.to)})`);
  const groups = await loadRuleFile(opts.rules);
  const { storage, via } = openReaderStorage(opts, 'vigie rules backtest');
  process.stderr.write(`vigie rules backtest: reading ${via}\n`);
  try {
    // A stored plan covering the window replaces the timetable's expected load, as live.
    let plan: ExpectedLoadOverride | null = null;
    if (opts.schedule !== false && opts.plan !== false) {
      const current = await loadStoredPlans(storage.client, storage.database, opts.from - 86_400_000, opts.to);
      for (const line of current.lines) process.stderr.write(`vigie rules backtest: ${line}\n`);
      plan = planOverride(current.plans);
    }
    const result = await backtest(storage.client, storage.database, { groups, fromMs: opts.from, toMs: opts.to, stepMs: opts.step ?? 15_000, useSchedule: opts.schedule !== false, plan });
    process.stdout.write(opts.format === 'json' ? JSON.stringify({ ...result, transitions: undefined, evaluations: result.evaluations.length }, null, 2) + '\n' : formatBacktestTable(result));
    return result;
  } catch (err) {
    throw explainMissingDatabase(err, storage, storage.chdbPath);
  } finally {
    await storage.close();
  }
}

/** Registers `vigie rules check` and `vigie rules backtest`. */
export function registerRulesCommand(program: Command): void {
  const rules = program.command('rules').description('Check rule files and backtest them over stored history.');

  rules
    .command('check')
    .description('Parse and validate a Prometheus-style rule file (YAML, PromQL, templates); list its groups and rules.')
    .argument('<file>', 'rule file')
    .option('--against <store>', 'also check every selector against the series a store holds: a chDB directory or a ClickHouse URL')
    .option('--database <name>', 'ClickHouse database of --against', 'vigie')
    .action(async (file: string, opts: { against?: string; database: string }) => {
      // A bad file throws a RuleFileError (a ConfigError): main() prints it and exits 2.
      const groups = await loadRuleFile(file);
      process.stdout.write(formatRuleCheck(file, groups));
      if (opts.against !== undefined) process.stdout.write(await checkAgainstStore(groups, opts.against, opts.database));
    });

  rules
    .command('backtest')
    .description('Replay stored samples through the rules engine: which alerts would have fired, when, and how long before the collapse.')
    .option('--rules <file>', 'rule file', DEFAULT_RULES_FILE)
    .requiredOption('--from <time>', 'first evaluation (ISO-8601, e.g. 2026-01-12T07:30:00Z, or epoch ms)', timeOption('--from'))
    .requiredOption('--to <time>', 'last evaluation (ISO-8601 or epoch ms)', timeOption('--to'))
    .option('--step <duration>', 'evaluation interval, as the live engine (default 15s)', durationOption('--step'))
    .option('--chdb-path <dir>', 'embedded chDB data directory (default .vigie/chdb)')
    .option('--clickhouse-url <url>', 'ClickHouse server URL instead of embedded chDB')
    .option('--database <name>', 'ClickHouse database', 'vigie')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--no-schedule', 'replay without the exam timetable (no ecampus_expected_* series, no stored plan): how much lead does the schedule buy?')
    .option('--no-plan', "replay with the timetable's expected load even where a stored plan (vigie plan --store) covers the window")
    .action(async (opts: RulesBacktestOptions) => {
      await runRulesBacktest(opts);
    });
}
