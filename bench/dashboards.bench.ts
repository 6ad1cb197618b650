/**
 * Dashboard and report benchmark on embedded chDB (run on purpose:
 * `node bench/dashboards.bench.ts [--series N] [--runs N] [--raw-minutes N]`).
 *
 * Data, generated inside the engine with INSERT … SELECT (JSON inserts would take
 * longer than the day they describe):
 * - `series`: N series (default 150,000 = 10,000 points/s at a 15 s export interval):
 *   11 faculties × (sessions per server×exam, capacity per server, the request-duration
 *   histogram per exam×route×status with 12 buckets + sum + count), the rest filler
 *   gauges spread over 20 metrics;
 * - `samples_1m`: one rollup row per series and minute for one whole day (N × 1,440
 *   rows) for yesterday (UTC), written directly in bulk — what the materialized view
 *   would have produced from 4 samples per minute (min, max, sum, count = 4, argMax
 *   state at :45);
 * - `counters_1m`: the per-minute counter increases of the same day (what the pipeline's
 *   ingest-time `delta` and the `counters_1m_mv` view would have produced: each counter
 *   series grows by its `base` per minute), summed by (metric, faculty, minute, le,
 *   status_code, exam_id) in bulk;
 * - `samples`: raw samples (every 15 s, with their `delta` and labels) for the last
 *   `--raw-minutes` (default 60) of the morning window, inserted with the rollup views
 *   dropped so rollups are not doubled.
 *
 * Then every ClickHouse panel query of the four dashboards runs `--runs` times over its
 * dashboard's default range (3 h; exam morning 4 h) ending at 12:00. Two baselines in the
 * same run: (1) "old rollup": the same panels with counter increases computed per series
 * at query time from `samples_1m` (`counterSource: 'samples_1m'`, the pre-007 SQL), over
 * the same range, `--baseline-runs` times; (2) "raw": the SQL over the raw-sample window
 * with `samples_1m`/`counters_1m` replaced by on-the-fly per-minute aggregations of raw
 * `samples`, against the rollup query over the same window.
 * Finally the post-mortem report (HTML + Markdown) is built for 08:00–12:00, from
 * `counters_1m` and (baseline) from `samples_1m`.
 * Prints JSON and writes bench/results/dashboards.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { dashboardCatalog, expandMacros, type MacroContext } from '../dashboards/index.ts';
import { migrate } from '../schema/migrate.ts';
import { createStorage } from '../pipeline/storage.ts';
import { writeSchedule } from '../schedule/index.ts';
import { writePostmortemReport } from '../postmortem/reportFiles.ts';
import { quantile as quantileOrNull, writeResult } from './support/measure.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const SERIES = Number(args.get('series') ?? 150_000);
const RUNS = Number(args.get('runs') ?? 10);
const RAW_MINUTES = Number(args.get('raw-minutes') ?? 60);
const BASELINE_RUNS = Number(args.get('baseline-runs') ?? 3);
const COMMAND = ['node bench/dashboards.bench.ts', ...process.argv.slice(2)].join(' ');
const DB = 'bench';
// Yesterday (UTC): raw `samples` has a 30-day TTL, so an old fixed date would be dropped at merge.
const DAY = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
const DAY_S = DAY / 1000;
const END = DAY + 12 * 3_600_000;
const FACULTIES = 11;
const EXAMS = 3;
const SERVERS = 4;
const ROUTES = 10;
const STATUSES = ['200', '404', '503'];
const LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

const log = (s: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

const quantile = (xs: number[], q: number): number => quantileOrNull(xs, q) ?? Number.NaN;
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  // --dir keeps the generated data (and reuses it on the next run) instead of a temp dir.
  const keep = args.get('dir');
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'vigie-bench-dash-'));
  const storage = createStorage({ chdbPath: dir, database: DB });
  const c = storage.client;
  const cmd = async (query: string): Promise<void> => {
    await c.command({ query, clickhouse_settings: { wait_end_of_query: 1 } });
  };
  const scalar = async (query: string): Promise<number> => {
    const rs = await c.query({ query, format: 'JSONEachRow' });
    const rows = await rs.json<Record<string, unknown>>();
    return Number(Object.values(rows[0] ?? {})[0]);
  };
  const timed = async (query: string): Promise<number> => {
    const t0 = performance.now();
    const rs = await c.query({ query, format: 'JSONCompactEachRow' });
    await rs.text();
    return performance.now() - t0;
  };
  try {
    await migrate(c, { database: DB });
    const reuse = keep !== undefined && (await scalar(`SELECT count() FROM system.tables WHERE database = '${DB}' AND name = 'bench_series'`)) > 0;
    if (reuse) log(`reusing data in ${dir}`);

    let rollupRows = 0;
    let rollupSeconds = 0;
    let rawRows = 0;
    let rawSeconds = 0;
    let counterRows = 0;
    let counterSeconds = 0;
    if (!reuse) {
    // ---- series -------------------------------------------------------------------------
    // n → (kind, faculty, labels). Ranges: sessions, capacity, count, sum, bucket, filler.
    const nSess = FACULTIES * SERVERS * EXAMS;
    const nCap = FACULTIES * SERVERS;
    const nReq = FACULTIES * EXAMS * ROUTES * STATUSES.length;
    const nBucket = nReq * LES.length;
    const fixed = nSess + nCap + 2 * nReq + nBucket;
    if (SERIES < fixed + 1) throw new Error(`--series must be > ${fixed}`);
    log(`generating ${SERIES} series (${fixed} dashboard series + ${SERIES - fixed} filler)`);
    const t0 = performance.now();
    await cmd(`CREATE TABLE ${DB}.bench_series ENGINE = Memory AS
      SELECT n, toUInt64(n + 1) AS fingerprint, kind, metric, faculty, labels, base FROM (
        SELECT number AS n,
          multiIf(n < ${nSess}, 'sessions', n < ${nSess + nCap}, 'capacity', n < ${nSess + nCap + nReq}, 'count',
                  n < ${nSess + nCap + 2 * nReq}, 'sum', n < ${fixed}, 'bucket', 'filler') AS kind,
          multiIf(kind = 'sessions', n, kind = 'capacity', n - ${nSess}, kind = 'count', n - ${nSess + nCap},
                  kind = 'sum', n - ${nSess + nCap + nReq}, kind = 'bucket', intDiv(n - ${nSess + nCap + 2 * nReq}, ${LES.length}), n - ${fixed}) AS k,
          multiIf(kind = 'sessions', 'ecampus_sessions_active', kind = 'capacity', 'ecampus_capacity_sessions',
                  kind = 'count', 'http_server_request_duration_count', kind = 'sum', 'http_server_request_duration_sum',
                  kind = 'bucket', 'http_server_request_duration_bucket', concat('bench_filler_', toString(n % 20))) AS metric,
          concat('f', leftPad(toString(k % ${FACULTIES}), 2, '0')) AS faculty,
          intDiv(k, ${FACULTIES}) AS rest,
          multiIf(
            kind = 'sessions', map('faculty', faculty, 'server', concat(faculty, '-', toString(rest % ${SERVERS})), 'exam_id', concat(faculty, '-E', toString(intDiv(rest, ${SERVERS}) % ${EXAMS}))),
            kind = 'capacity', map('faculty', faculty, 'server', concat(faculty, '-', toString(rest % ${SERVERS}))),
            kind = 'filler', map('faculty', faculty, 'instance', toString(rest)),
            mapFromArrays(
              arrayConcat(['faculty', 'exam_id', 'http_route', 'http_response_status_code'], arraySlice(['le'], 1, kind = 'bucket')),
              arrayConcat([faculty, concat(faculty, '-E', toString(rest % ${EXAMS})), concat('/r', toString(intDiv(rest, ${EXAMS}) % ${ROUTES})),
                            [${STATUSES.map((s) => `'${s}'`).join(',')}][intDiv(rest, ${EXAMS * ROUTES}) % ${STATUSES.length} + 1]],
                           arraySlice([[${LES.map((l) => `'${l}'`).join(',')}][(n - ${nSess + nCap + 2 * nReq}) % ${LES.length} + 1]], 1, kind = 'bucket')))) AS labels,
          -- base: per-minute increment for counters (share below le for buckets), level for gauges
          multiIf(kind = 'sessions', 200 + (n % 7) * 20, kind = 'capacity', 750,
                  kind IN ('count', 'sum'), if(labels['http_response_status_code'] = '200', 600, 12),
                  kind = 'bucket', if(labels['http_response_status_code'] = '200', 600, 12) * least(1, toFloat64OrZero(labels['le']) * 4 + if(labels['le'] = '+Inf', 1, 0)),
                  50) AS base
        FROM numbers(${SERIES})
      )`);
    await cmd(`INSERT INTO ${DB}.series SELECT fingerprint, metric, faculty, labels, toDateTime64(${DAY_S}, 3) FROM ${DB}.bench_series`);

    // ---- one day of rollups, per hour ------------------------------------------------------
    // Morning shape: sessions rise 8:00–10:00 then ease; counters accumulate base per minute.
    const value = (minuteExpr: string, frac: string) => `toFloat64(ifNull(multiIf(
        s.kind = 'sessions', s.base * (1 + 4 * exp(-pow((toFloat64(${minuteExpr}) - ${DAY_S + 10 * 3600}) / 5400, 2))) * (1 + 0.02 * sin(toFloat64(${minuteExpr}) / 300 + s.n)),
        s.kind = 'capacity', s.base,
        s.kind IN ('count', 'bucket', 'sum'), s.base * ((toFloat64(${minuteExpr}) - ${DAY_S}) / 60 + ${frac}),
        s.base * (1 + 0.3 * sin(toFloat64(${minuteExpr}) / 600 + s.n))), 0))`;
    for (let h = 0; h < 24; h++) {
      const th = performance.now();
      await cmd(`INSERT INTO ${DB}.samples_1m
        SELECT s.metric, s.fingerprint, s.faculty, m.minute,
          least(v0, v1) AS min, greatest(v0, v1) AS max, (v0 + v1) * 2 AS sum, toUInt64(4) AS count,
          arrayReduce('argMaxState', [v1], [toDateTime64(m.minute, 3, 'UTC') + toIntervalSecond(45)]) AS last
        FROM ${DB}.bench_series AS s
        CROSS JOIN (SELECT toDateTime(${DAY_S + h * 3600} + number * 60, 'UTC') AS minute FROM numbers(60)) AS m
        ARRAY JOIN [${value('m.minute', '0')}] AS v0, [${value('m.minute', '0.75')}] AS v1`);
      if (h === 0 || h === 23) log(`rollups hour ${h}: ${SERIES * 60} rows in ${r1((performance.now() - th) / 1000)} s`);
    }
    rollupRows = await scalar(`SELECT count() FROM ${DB}.samples_1m`);
    rollupSeconds = (performance.now() - t0) / 1000;
    log(`rollups: ${rollupRows} rows in ${r1(rollupSeconds)} s`);

    // ---- one day of counter increases (counters_1m), per 6 hours ----------------------------------
    const tc = performance.now();
    for (let h = 0; h < 24; h += 6) {
      await cmd(`INSERT INTO ${DB}.counters_1m
        SELECT s.metric, s.faculty, m.minute, s.labels['le'] AS le, s.labels['http_response_status_code'] AS status_code,
          s.labels['exam_id'] AS exam_id, sum(toFloat64(s.base)) AS delta
        FROM (SELECT * FROM ${DB}.bench_series WHERE kind IN ('count', 'sum', 'bucket') AND base != 0) AS s
        CROSS JOIN (SELECT toDateTime(${DAY_S + h * 3600} + number * 60, 'UTC') AS minute FROM numbers(360)) AS m
        GROUP BY s.metric, s.faculty, m.minute, le, status_code, exam_id`);
    }
    counterRows = await scalar(`SELECT count() FROM ${DB}.counters_1m`);
    counterSeconds = (performance.now() - tc) / 1000;
    log(`counters_1m: ${counterRows} rows in ${r1(counterSeconds)} s`);

    // ---- raw samples for the baseline window (view dropped: rollups already hold them) ---------
    const rawFrom = END - RAW_MINUTES * 60_000;
    const tr = performance.now();
    await cmd(`DROP VIEW IF EXISTS ${DB}.samples_1m_mv`);
    await cmd(`DROP VIEW IF EXISTS ${DB}.counters_1m_mv`);
    await cmd(`INSERT INTO ${DB}.samples (metric, fingerprint, faculty, timestamp, value, delta, le, status_code, exam_id)
      SELECT s.metric, s.fingerprint, s.faculty, t.ts, ${value('toDateTime(t.ts)', 'toSecond(t.ts) / 60')} AS value,
        if(s.kind IN ('count', 'sum', 'bucket'), s.base / 4, 0) AS delta,
        s.labels['le'], s.labels['http_response_status_code'], s.labels['exam_id']
      FROM ${DB}.bench_series AS s
      CROSS JOIN (SELECT toDateTime64(${rawFrom / 1000} + number * 15, 3, 'UTC') AS ts FROM numbers(${RAW_MINUTES * 4})) AS t`);
    rawRows = await scalar(`SELECT count() FROM ${DB}.samples`);
    rawSeconds = (performance.now() - tr) / 1000;
    log(`raw samples: ${rawRows} rows (${RAW_MINUTES} min at ${Math.round(SERIES / 15)} points/s) in ${r1(rawSeconds)} s`);
    await cmd(`OPTIMIZE TABLE ${DB}.series FINAL`);

    // Exam schedule for the exam-morning dashboard and the report.
    const exams = [];
    for (let f = 0; f < FACULTIES; f++) {
      for (let e = 0; e < EXAMS; e++) {
        const faculty = `f${String(f).padStart(2, '0')}`;
        exams.push({ id: `${faculty}-E${e}`, faculty, start: DAY + (8 * 60 + 30 + 30 * e) * 60_000, enrolled: 1200, durationMs: 120 * 60_000 });
      }
    }
    await writeSchedule(c, DB, exams);

    } else {
      rollupRows = await scalar(`SELECT count() FROM ${DB}.samples_1m`);
      rawRows = await scalar(`SELECT count() FROM ${DB}.samples`);
      counterRows = await scalar(`SELECT count() FROM ${DB}.counters_1m`);
    }
    // Background merges of the bulk inserts compete with the first panels for the two
    // cores: let them settle (bounded) so timings describe the steady state.
    const settle = performance.now();
    while ((await scalar(`SELECT count() FROM system.merges WHERE database = '${DB}'`)) > 0 && performance.now() - settle < 180_000) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    log(`merges settled in ${r1((performance.now() - settle) / 1000)} s`);
    // ---- panel queries ---------------------------------------------------------------------------
    const faculties = Array.from({ length: FACULTIES }, (_, f) => `f${String(f).padStart(2, '0')}`);
    const ctx = (hours: number, to = END): MacroContext => ({
      from: to - hours * 3_600_000,
      to,
      intervalMs: 60_000,
      vars: { faculty: 'f03', faculties },
    });
    const rollupTable = `\`${DB}\`.\`samples_1m\``;
    const countersTable = `\`${DB}\`.\`counters_1m\``;
    const rawAsCounters = `(SELECT metric, faculty, toDateTime(toStartOfMinute(timestamp), 'UTC') AS minute, le, status_code, exam_id, sum(d) AS delta
      FROM (SELECT metric, faculty, timestamp, le, status_code, exam_id, delta AS d FROM \`${DB}\`.\`samples\` WHERE delta != 0)
      GROUP BY metric, faculty, minute, le, status_code, exam_id)`;
    // The same dashboards with per-series increases computed at query time (pre-007).
    const oldCatalog = dashboardCatalog({ database: DB, datasourceUid: 'bench', counterSource: 'samples_1m' });
    const rawAsRollup = `(SELECT metric, fingerprint, faculty, toDateTime(toStartOfMinute(timestamp), 'UTC') AS minute,
        min(value) AS min, max(value) AS max, sum(value) AS sum, count() AS count, argMaxState(value, timestamp) AS last
      FROM \`${DB}\`.\`samples\` GROUP BY metric, faculty, fingerprint, minute)`;

    const panels: Array<Record<string, unknown>> = [];
    for (const d of dashboardCatalog({ database: DB, datasourceUid: 'bench' })) {
      const hours = d.uid === 'vigie-exam-morning' ? 4 : 3;
      const oldPanels = oldCatalog.find((o) => o.uid === d.uid)!.panels;
      for (const [pi, p] of d.panels.entries()) {
        const sql = expandMacros(p.rawSql, ctx(hours));
        await timed(sql); // warm-up
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) times.push(await timed(sql));
        const row: Record<string, unknown> = {
          dashboard: d.uid,
          panel: p.title,
          rangeHours: hours,
          p50Ms: r1(quantile(times, 0.5)),
          p95Ms: r1(quantile(times, 0.95)),
        };
        const oldSql = expandMacros(oldPanels[pi]!.rawSql, ctx(hours));
        if (oldSql !== sql) {
          await timed(oldSql); // warm-up
          const oldTimes: number[] = [];
          for (let i = 0; i < BASELINE_RUNS; i++) oldTimes.push(await timed(oldSql));
          const o50 = quantile(oldTimes, 0.5);
          row['oldRollup'] = {
            how: 'per-series increases from samples_1m at query time (pre-007 SQL), same range',
            runs: BASELINE_RUNS,
            p50Ms: r1(o50),
            p95Ms: r1(quantile(oldTimes, 0.95)),
            oldOverNewP50: r1(o50 / quantile(times, 0.5)),
          };
        }
        if (sql.includes(rollupTable) || sql.includes(countersTable)) {
          const win = ctx(RAW_MINUTES / 60);
          const rollupSql = expandMacros(p.rawSql, win);
          const rawSql = rollupSql.split(rollupTable).join(rawAsRollup).split(countersTable).join(rawAsCounters);
          await timed(rollupSql);
          const rollupTimes: number[] = [];
          const rawTimes: number[] = [];
          for (let i = 0; i < BASELINE_RUNS; i++) {
            rollupTimes.push(await timed(rollupSql));
            rawTimes.push(await timed(rawSql));
          }
          const a = quantile(rollupTimes, 0.5);
          const b = quantile(rawTimes, 0.5);
          row['baseline'] = { windowMinutes: RAW_MINUTES, rollupP50Ms: r1(a), rawP50Ms: r1(b), rawOverRollup: r1(b / a) };
        }
        panels.push(row);
        log(
          `${d.uid} / ${p.title}: p50 ${row['p50Ms']} ms, p95 ${row['p95Ms']} ms` +
            (row['oldRollup'] ? `, old rollup p50 ${(row['oldRollup'] as { p50Ms: number }).p50Ms} ms` : '') +
            (row['baseline'] ? `, raw/rollup ×${(row['baseline'] as { rawOverRollup: number }).rawOverRollup}` : ''),
        );
      }
      for (const [name, a] of Object.entries(d.annotations)) {
        const sql = expandMacros(a, ctx(hours));
        await timed(sql);
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) times.push(await timed(sql));
        panels.push({ dashboard: d.uid, panel: `annotation: ${name}`, rangeHours: hours, p50Ms: r1(quantile(times, 0.5)), p95Ms: r1(quantile(times, 0.95)) });
      }
    }

    // ---- post-mortem report for a four-hour morning ---------------------------------------------------
    const out = mkdtempSync(join(tmpdir(), 'vigie-bench-report-'));
    const tp = performance.now();
    const report = await writePostmortemReport(c, { database: DB, fromMs: DAY + 8 * 3_600_000, toMs: END, outDir: out, progress: false, generatedAtMs: END });
    const reportMs = performance.now() - tp;
    log(`report (counters_1m): ${Math.round(reportMs)} ms`);
    const tpo = performance.now();
    await writePostmortemReport(c, { database: DB, counterSource: 'samples_1m', fromMs: DAY + 8 * 3_600_000, toMs: END, outDir: out, progress: false, generatedAtMs: END });
    const oldReportMs = performance.now() - tpo;
    log(`report (old, samples_1m per series): ${Math.round(oldReportMs)} ms`);
    rmSync(out, { recursive: true, force: true });

    const worst = Math.max(...panels.map((p) => Number(p['p95Ms'])));
    const result = {
      bench: 'dashboards',
      command: COMMAND,
      machine: {
        cpus: cpus().length,
        memGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        engine: 'chDB (embedded)',
        // Other jobs share these cores: read the timings against the load.
        loadAverage1m: { start: r1(loadAtStart), end: r1(loadavg()[0]!) },
      },
      data: {
        series: SERIES,
        pointsPerSecondEquivalent: Math.round(SERIES / 15),
        exportIntervalSeconds: 15,
        rollupRows,
        rollupDay: new Date(DAY).toISOString().slice(0, 10),
        rollupGenerationSeconds: reuse ? null : r1(rollupSeconds),
        counters1mRows: counterRows,
        counters1mGenerationSeconds: reuse ? null : r1(counterSeconds),
        rawSampleRows: rawRows,
        rawWindowMinutes: RAW_MINUTES,
        rawGenerationSeconds: reuse ? null : r1(rawSeconds),
        reusedData: reuse ? `generated by an earlier run in ${dir} (--dir); generation times not measured here` : false,
        how: 'series and one day of samples_1m rows generated with INSERT … SELECT in bulk (4 samples per series-minute folded into min/max/sum/count/argMax state); one day of counters_1m (per-minute increase = base per counter series, summed without the series dimension); raw samples every 15 s (with delta and labels) for the last raw-window minutes before 12:00, inserted with samples_1m_mv and counters_1m_mv dropped',
      },
      runsPerPanel: RUNS,
      panels,
      worstPanelP95Ms: worst,
      panelTargetP95Ms: 500,
      panelTargetMet: worst <= 500,
      report: {
        window: '08:00–12:00 UTC (4 h), all faculties',
        buildMs: Math.round(reportMs),
        oldRollupBuildMs: Math.round(oldReportMs),
        targetMs: 10_000,
        targetMet: reportMs <= 10_000,
        faculties: report.report.faculties.length,
        files: report.files.map((f) => f.slice(out.length + 1)),
      },
    };
    writeResult(new URL('./results/dashboards.json', import.meta.url), result);
  } finally {
    await storage.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
