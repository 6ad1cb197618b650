/**
 * `vigie detect`: the streaming anomaly detector of `vigie_anomaly_score` on a CSV.
 * Reads `timestamp,value` rows (header optional; `-` = stdin), writes
 * `timestamp,value,anomaly_score,anomaly` to stdout — one row per input row, same order,
 * the timestamp and value fields echoed byte for byte, the score (1 − tail probability,
 * see rules/forecast/anomaly.ts) computed from that row and the rows before it only
 * (appending rows never changes earlier scores), `anomaly` 1 when the score reaches the
 * threshold (default 0.9999: about one false alarm per 10,000 normal points).
 *
 * Bad rows (not two fields, empty timestamp, value not a finite number) stop the run
 * with an error naming the line number and its content (exit 2), or, with
 * `--skip-invalid`, are left out of the output and counted in a warning on stderr.
 * Blank lines are not rows. A first line whose value field is not a number is a header.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { anomalyKernel, DEFAULT_ANOMALY_THRESHOLD, type AnomalyParams } from '../../rules/forecast/anomaly.ts';
import { ConfigError, describeError } from '../../core/errors.ts';

/** A row that cannot be scored; the message names the line and its content. */
export class DetectInputError extends ConfigError {}

/** Options of {@link detect}. */
export interface DetectOptions {
  /** Skip bad rows (counted) instead of failing. */
  readonly skipInvalid?: boolean;
  /** Write the `timestamp,value,anomaly_score,anomaly` header line. Default true. */
  readonly header?: boolean;
  /** Score at or above which a row is an anomaly (default {@link DEFAULT_ANOMALY_THRESHOLD}). */
  readonly threshold?: number;
  /** Kernel knobs (defaults: rules/forecast/anomaly.ts). */
  readonly params?: AnomalyParams;
}

/** What a run did. */
export interface DetectSummary {
  readonly rows: number;
  readonly skipped: number;
  /** Rows flagged as anomalies. */
  readonly anomalies: number;
  /** First skipped lines (number and content), at most 5. */
  readonly skippedExamples: readonly string[];
}

/** Splits a CSV line into fields, honouring double quotes; returns the raw field texts. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (c === ',' && !inQuotes) {
      out.push(line.slice(start, i));
      start = i + 1;
    }
  }
  out.push(line.slice(start));
  return out;
}

function unquote(field: string): string {
  const t = field.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/** Formats a score with 6 decimals (fixed width, deterministic). */
export function formatScore(s: number): string {
  return (Number.isFinite(s) ? Math.min(1, Math.max(0, s)) : 0).toFixed(6);
}

/** Scores `lines` (without line terminators) and writes output lines through `write`. Pure apart from the callbacks. */
export async function detect(lines: AsyncIterable<string> | Iterable<string>, write: (chunk: string) => void | Promise<void>, opts: DetectOptions = {}): Promise<DetectSummary> {
  const state = anomalyKernel.create(opts.params ?? {});
  let lineNo = 0;
  let rows = 0;
  let skipped = 0;
  const examples: string[] = [];
  let seenContent = false;
  const threshold = opts.threshold ?? DEFAULT_ANOMALY_THRESHOLD;
  let anomalies = 0;
  let buf = opts.header === false ? '' : 'timestamp,value,anomaly_score,anomaly\n';
  let prevTs: number | undefined;
  for await (const rawLine of lines) {
    lineNo++;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') continue;
    const fields = splitCsv(line);
    const first = !seenContent;
    seenContent = true;
    let problem: string | undefined;
    let value = NaN;
    if (fields.length !== 2) problem = `expected 2 fields (timestamp,value), got ${fields.length}`;
    else if (unquote(fields[0]!) === '') problem = 'empty timestamp';
    else {
      const v = unquote(fields[1]!);
      value = v === '' ? NaN : Number(v);
      const t = parseTimestamp(unquote(fields[0]!));
      if (!Number.isFinite(value)) {
        if (first) continue; // a header line
        problem = `value "${v}" is not a finite number`;
      } else if (t === undefined) {
        problem = `timestamp "${unquote(fields[0]!)}" is neither a number (epoch) nor an ISO-8601 time`;
      } else if (prevTs !== undefined && t <= prevTs) {
        problem = `timestamp "${unquote(fields[0]!)}" is ${t === prevTs ? 'a duplicate of' : 'before'} the previous row's (rows must be sorted, one per timestamp)`;
      } else {
        prevTs = t;
      }
    }
    if (problem !== undefined) {
      const where = `line ${lineNo}: ${JSON.stringify(line.length > 200 ? line.slice(0, 200) + '…' : line)}`;
      if (!opts.skipInvalid) {
        if (buf) await write(buf);
        throw new DetectInputError(`invalid row at ${where}: ${problem} (fix the row, or pass --skip-invalid to skip such rows)`);
      }
      skipped++;
      if (examples.length < 5) examples.push(`${where}: ${problem}`);
      continue;
    }
    anomalyKernel.add(state, rows, value);
    rows++;
    const flagged = state.score >= threshold;
    if (flagged) anomalies++;
    buf += `${fields[0]},${fields[1]},${formatScore(state.score)},${flagged ? 1 : 0}\n`;
    if (buf.length > 65_536) {
      await write(buf);
      buf = '';
    }
  }
  if (buf) await write(buf);
  return { rows, skipped, anomalies, skippedExamples: examples };
}

/** Epoch seconds or milliseconds, or an ISO-8601 time, in ms; undefined for anything else. */
export function parseTimestamp(raw: string): number | undefined {
  const text = raw.trim();
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) {
    const n = Number(text);
    // Epoch seconds (before year 5138) or milliseconds, so both order against ISO rows.
    return Number.isFinite(n) ? (Math.abs(n) < 1e11 ? n * 1000 : n) : undefined;
  }
  if (!/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Writes to a stream, waiting for drain when its buffer is full. */
function streamWriter(out: Writable): (chunk: string) => Promise<void> {
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      const ok = out.write(chunk, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else out.once('drain', resolve);
    });
}

/** Runs `vigie detect` on a file or stdin (`-`). */
export async function runDetect(
  opts: { readonly input: string; readonly skipInvalid?: boolean; readonly header?: boolean; readonly threshold?: number; readonly params?: AnomalyParams },
  io: { readonly stdin?: Readable; readonly stdout?: Writable; readonly stderr?: Writable } = {},
): Promise<DetectSummary> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let input: Readable;
  if (opts.input === '-') input = io.stdin ?? process.stdin;
  else {
    input = createReadStream(opts.input, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', (e) => reject(new ConfigError(`--input: cannot read ${opts.input}: ${e.message}`, { cause: e })));
    });
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    const summary = await detect(rl, streamWriter(stdout), {
      ...(opts.skipInvalid !== undefined ? { skipInvalid: opts.skipInvalid } : {}),
      ...(opts.header !== undefined ? { header: opts.header } : {}),
      ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
      ...(opts.params !== undefined ? { params: opts.params } : {}),
    });
    if (summary.skipped > 0) {
      stderr.write(`vigie detect: skipped ${summary.skipped} invalid row(s), e.g. ${summary.skippedExamples.join('; ')}\n`);
    }
    return summary;
  } finally {
    rl.close();
    if (opts.input !== '-') input.destroy();
  }
}

/** Parses a number option within [min, max]; the error names the option and the value. */
function numberOption(name: string, min: number, max: number, integer: boolean): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new ConfigError(`${name}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${v}"`);
    }
    return n;
  };
}

/**
 * `vigie detect` without the rest of the CLI: bin/vigie.mjs calls this for `vigie detect …`
 * so a filter people pipe series through does not load Kafka, ClickHouse and
 * OpenTelemetry first (seconds of start-up). Same exit codes as cli/main.ts.
 */
export async function detectMain(argv: readonly string[]): Promise<number> {
  const { Command } = await import('commander');
  const program = new Command('vigie').exitOverride().showHelpAfterError();
  registerDetectCommand(program);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    process.stderr.write(`vigie: ${err instanceof ConfigError ? err.message : describeError(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

/** Registers `vigie detect`. */
export function registerDetectCommand(program: Command): void {
  program
    .command('detect')
    .description(
      'Score a time series for anomalies with the robust streaming detector behind vigie_anomaly_score(): reads timestamp,value CSV rows ' +
        '(header optional), writes timestamp,value,anomaly_score,anomaly. The score is 1 − p, p the estimated probability that a normal ' +
        'point deviates from the forecast at least this much (from that row and earlier rows only); anomaly is 1 at score ≥ --threshold.',
    )
    .requiredOption('-i, --input <file>', 'CSV file to read, or - for stdin')
    .option('--skip-invalid', 'skip rows that cannot be parsed (counted in a warning on stderr) instead of failing on the first one')
    .option('--no-header', 'do not write the timestamp,value,anomaly_score,anomaly header line')
    .option('--threshold <score>', `anomaly when score ≥ this (default ${DEFAULT_ANOMALY_THRESHOLD}: about 1 false alarm per 10,000 normal points; 0.999 → ~10)`, numberOption('--threshold', 0, 1, false))
    .option('--period <points>', 'season length in rows (0 = no season; default: detected during the warm-up, up to warm-up/3)', numberOption('--period', 0, 1_000_000, true))
    .option('--warmup <points>', 'rows that initialise the model (scored 0; 30 more rows calibrate it); default 100', numberOption('--warmup', 3, 1_000_000, true))
    .addHelpText(
      'after',
      '\nExamples:\n  vigie detect --input sessions.csv > scored.csv\n  cat sessions.csv | vigie detect --input - --skip-invalid\n\n' +
        'The first warm-up + 30 rows score 0 (no history yet). Flat and periodic series score low; one spike, a level shift, a trend ' +
        'change, a variance change or a broken season score near 1.\n' +
        'Exit status: 0 on success, 2 on an invalid row (the message names the line and its content), a bad option or unreadable input.',
    )
    .action(async (opts: { input: string; skipInvalid?: boolean; header: boolean; threshold?: number; period?: number; warmup?: number }) => {
      const params: AnomalyParams = { ...(opts.period !== undefined ? { period: opts.period } : {}), ...(opts.warmup !== undefined ? { warmup: opts.warmup } : {}) };
      await runDetect({
        input: opts.input,
        skipInvalid: opts.skipInvalid === true,
        header: opts.header,
        ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
        params,
      });
    });
}
