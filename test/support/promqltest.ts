/**
 * A runner for Prometheus' PromQL test scripting language (`promql/promqltest`, the DSL
 * of `promqltest/testdata/*.test` in the Prometheus Go module), so Vigie's evaluator is
 * checked against Prometheus' own conformance scripts. Follows `promqltest/test.go`:
 * `load`, `clear`, `eval instant at`, `eval range from … to … step`, `eval_fail`,
 * `eval_ordered`, `expect fail|ordered|string|range vector`, `expected_fail_message`;
 * results compared as `compareResult` does (exact label sets, 1e-6 relative tolerance
 * via `almost.Equal`, order only when asked).
 *
 * Every eval command is one case with one outcome:
 * - `pass`: the result (or the failure, when one is expected) agrees;
 * - `wrong`: Vigie answers differently, fails at evaluation time, or answers where
 *   Prometheus fails — what must never happen in silence;
 * - `refused`: Vigie's parser refuses the expression (rule-load time), reason given;
 * - `skipped`: the case involves native histograms or start timestamps (out of scope:
 *   Vigie stores float samples only).
 *
 * Not checked (differences from test.go): `warn`/`info` annotations (Vigie has none),
 * the exact text of expected failure messages, and test.go's extra re-runs of instant
 * queries with `@` appended and in range mode.
 */
import { evaluate, evaluateRange, type Value } from '../../rules/promql/eval.ts';
import { almostEqual } from '../../rules/promql/functions.ts';
import { parsePromQL, PromQLError } from '../../rules/promql/parse.ts';
import type { VectorSelector } from '../../rules/promql/ast.ts';
import { createSeriesStore, matchLabel, type SeriesStore } from '../../rules/windows.ts';
import { tryParseDuration } from '../../rules/duration.ts';
import type { Sample } from '../../core/samples.ts';

/** Outcome of one eval command. */
export type CaseStatus = 'pass' | 'wrong' | 'refused' | 'skipped';

/** One eval command's outcome; `reason` says why it is not a pass. */
export interface CaseResult {
  /** `file:line` of the eval command. */
  readonly id: string;
  readonly line: number;
  readonly expr: string;
  readonly status: CaseStatus;
  readonly reason?: string;
}

/** A point of a series description: a value, an omitted point (`_`) or a stale marker. */
type Point = number | 'omitted' | 'stale' | 'histogram';

interface SeriesDesc {
  readonly labels: Record<string, string>;
  readonly points: Point[];
}

interface LoadCmd {
  readonly kind: 'load';
  readonly line: number;
  readonly intervalMs: number;
  readonly series: SeriesDesc[];
  /** Series holding native histograms (`{{…}}`, or built by `load_with_nhcb`). */
  readonly histograms: Record<string, string>[];
  /** Start timestamps (`@st` lines) in this load. */
  readonly startTimestamps: boolean;
}

interface EvalCmd {
  readonly kind: 'eval';
  readonly line: number;
  readonly expr: string;
  readonly range: { startMs: number; endMs: number; stepMs: number } | undefined;
  readonly atMs: number;
  fail: boolean;
  ordered: boolean;
  expectScalar: number | undefined;
  expectString: string | undefined;
  expectRangeVector: boolean;
  readonly expected: SeriesDesc[];
  unsupported: string | undefined;
}

type Cmd = LoadCmd | EvalCmd | { readonly kind: 'clear'; readonly line: number };

const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;

/** A malformed script (a runner bug or a DSL feature it does not know): fails loudly. */
export class ScriptError extends Error {}

function duration(text: string, file: string, line: number): number {
  const t = text.trim();
  const neg = t.startsWith('-');
  const ms = tryParseDuration(neg ? t.slice(1) : t);
  if (ms === undefined) throw new ScriptError(`${file}:${line}: invalid duration "${text}"`);
  return neg ? -ms : ms;
}

/** Parses a script into commands (test.go `parse`). */
export function parseScript(src: string, file: string): Cmd[] {
  const lines = src.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Cmd[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const word = l.split(/[\t ]+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      cmds.push({ kind: 'clear', line: i + 1 });
    } else if (word.startsWith('load')) {
      const m = PAT_LOAD.exec(l);
      if (!m) throw new ScriptError(`${file}:${i + 1}: invalid load command`);
      const series: SeriesDesc[] = [];
      const histograms: Record<string, string>[] = [];
      let startTimestamps = false;
      const start = i;
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        i++;
        const def = lines[i]!;
        if (/^("[^"]*"|[^\s{]*)(\{[^}]*\})?@st\s/u.test(def)) {
          startTimestamps = true;
          continue;
        }
        const s = parseSeriesDesc(def, file, i + 1);
        if (s.points.includes('histogram')) histograms.push(s.labels);
        if (m[1]) {
          // load_with_nhcb: X_bucket/X_count/X_sum also become a native histogram X.
          const { __name__: name = '', le: _le, ...rest } = s.labels;
          const base = name.replace(/_(bucket|count|sum)$/, '');
          if (base !== name) histograms.push({ ...rest, __name__: base });
        }
        series.push(s);
      }
      cmds.push({ kind: 'load', line: start + 1, intervalMs: duration(m[2]!, file, start + 1), series, histograms, startTimestamps });
    } else if (word.startsWith('eval')) {
      i = parseEval(lines, i, file, cmds);
    } else {
      throw new ScriptError(`${file}:${i + 1}: invalid command "${l}"`);
    }
  }
  return cmds;
}

function parseEval(lines: string[], i: number, file: string, cmds: Cmd[]): number {
  const l = lines[i]!;
  const inst = PAT_EVAL_INSTANT.exec(l);
  const rng = inst ? null : PAT_EVAL_RANGE.exec(l);
  if (!inst && !rng) throw new ScriptError(`${file}:${i + 1}: invalid eval command`);
  const mod = (inst ?? rng)![1];
  const cmd: EvalCmd = {
    kind: 'eval',
    line: i + 1,
    expr: inst ? inst[3]! : rng![5]!,
    range: rng ? { startMs: duration(rng[2]!, file, i + 1), endMs: duration(rng[3]!, file, i + 1), stepMs: duration(rng[4]!, file, i + 1) } : undefined,
    atMs: inst ? duration(inst[2] ?? '0', file, i + 1) : 0,
    fail: mod === 'fail',
    ordered: mod === 'ordered',
    expectScalar: undefined,
    expectString: undefined,
    expectRangeVector: false,
    expected: [],
    unsupported: undefined,
  };
  while (i + 1 < lines.length && lines[i + 1] !== '') {
    i++;
    const def = lines[i]!;
    if (cmd.fail && (def.startsWith('expected_fail_message') || def.startsWith('expected_fail_regexp'))) break;
    if (def.startsWith('expect range vector')) {
      cmd.expectRangeVector = true;
      continue;
    }
    if (def.startsWith('expect string')) {
      cmd.expectString = JSON.parse(def.slice('expect string'.length).trim().replace(/^`(.*)`$/, (_m, s: string) => JSON.stringify(s))) as string;
      continue;
    }
    if (def.split(' ')[0] === 'expect') {
      const m = PAT_EXPECT.exec(def);
      if (!m) throw new ScriptError(`${file}:${i + 1}: invalid expect line "${def}"`);
      if (m[1] === 'fail') cmd.fail = true;
      else if (m[1] === 'ordered') cmd.ordered = true;
      continue; // warn/info/no_warn/no_info: annotations are not checked
    }
    const num = goParseNumber(def);
    if (num !== undefined) {
      cmd.expectScalar = num;
      break;
    }
    const s = parseSeriesDesc(def, file, i + 1);
    if (s.points.includes('histogram')) cmd.unsupported = 'native histograms in the expected result';
    cmd.expected.push(s);
  }
  cmds.push(cmd);
  return i;
}

/** Go `strconv.ParseInt(s, 0, 64)` then `ParseFloat(s, 64)`, as test.go `parseNumber`. */
function goParseNumber(s: string): number | undefined {
  if (/^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]*|0[bB][01_]+|[1-9][0-9_]*)$/.test(s)) {
    const neg = s.startsWith('-');
    const body = s.replace(/^[+-]/, '').replace(/_/g, '');
    const v = /^0[oO]/.test(body) ? parseInt(body.slice(2), 8) : /^0[0-7]+$/.test(body) ? parseInt(body, 8) : Number(body);
    return neg ? -v : v;
  }
  const t = s.toLowerCase().replace(/^\+/, '');
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan') return NaN;
  if (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
  return undefined;
}

/** Reads a quoted string (Go syntax: "…" with escapes, '…', or `raw`) at `i`; returns [value, next index]. */
function readQuoted(s: string, i: number): [string, number] {
  const q = s[i]!;
  let j = i + 1;
  let out = '';
  while (j < s.length && s[j] !== q) {
    if (s[j] === '\\' && q !== '`') {
      const e = s[j + 1]!;
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
      if (e in simple) {
        out += simple[e];
        j += 2;
      } else if (e === 'u' || e === 'U' || e === 'x') {
        const n = e === 'u' ? 4 : e === 'U' ? 8 : 2;
        out += String.fromCodePoint(parseInt(s.slice(j + 2, j + 2 + n), 16));
        j += 2 + n;
      } else {
        out += e;
        j += 2;
      }
    } else {
      out += s[j];
      j++;
    }
  }
  return [out, j + 1];
}

/** Parses `metric{l="v", …} <points>` (the series description syntax of load lines and expected results). */
export function parseSeriesDesc(def: string, file: string, line: number): SeriesDesc {
  const labels: Record<string, string> = {};
  let i = 0;
  const ident = /^[\p{L}_:][\p{L}\p{N}_:.]*/u;
  const skipWs = () => {
    while (i < def.length && /\s/.test(def[i]!)) i++;
  };
  if (def[i] === '"') {
    const [name, j] = readQuoted(def, i);
    labels['__name__'] = name;
    i = j;
  } else {
    const m = ident.exec(def);
    if (m && def[m[0].length] !== '+' && !/^\d/.test(m[0])) {
      labels['__name__'] = m[0];
      i = m[0].length;
    }
  }
  if (def[i] === '{') {
    i++;
    for (;;) {
      skipWs();
      if (def[i] === '}') {
        i++;
        break;
      }
      let name: string;
      if (def[i] === '"' || def[i] === "'" || def[i] === '`') {
        [name, i] = readQuoted(def, i);
      } else {
        const m = /^[\p{L}_][\p{L}\p{N}_.]*/u.exec(def.slice(i));
        if (!m) throw new ScriptError(`${file}:${line}: bad label name in "${def}"`);
        name = m[0];
        i += name.length;
      }
      skipWs();
      if (def[i] === ',' || def[i] === '}') {
        // A lone quoted string is the metric name.
        labels['__name__'] = name;
      } else {
        if (def[i] !== '=') throw new ScriptError(`${file}:${line}: expected "=" in "${def}"`);
        i++;
        skipWs();
        const [value, j] = readQuoted(def, i);
        labels[name] = value;
        i = j;
      }
      skipWs();
      if (def[i] === ',') i++;
    }
  }
  return { labels, points: parsePoints(def.slice(i), file, line) };
}

function parsePoints(text: string, file: string, line: number): Point[] {
  const out: Point[] = [];
  // Tokens: `{{ … }}` histograms may hold spaces.
  const tokens: string[] = [];
  const re = /\{\{[^}]*(?:\}(?!\})[^}]*)*\}\}(?:x\d+|[+-]\{\{[^}]*(?:\}(?!\})[^}]*)*\}\}x\d+)?|\S+/g;
  for (const m of text.matchAll(re)) tokens.push(m[0]);
  for (const tok of tokens) {
    if (tok.startsWith('{{')) {
      out.push('histogram');
      continue;
    }
    if (tok === '_') {
      out.push('omitted');
      continue;
    }
    if (tok === 'stale') {
      out.push('stale');
      continue;
    }
    let m = /^_x(\d+)$/.exec(tok);
    if (m) {
      for (let k = 0; k < Number(m[1]); k++) out.push('omitted');
      continue;
    }
    const num = '([+-]?(?:Inf|inf|NaN|nan|0x[0-9a-fA-F]+|\\d+\\.?\\d*(?:e[+-]?\\d+)?|\\.\\d+(?:e[+-]?\\d+)?))';
    m = new RegExp(`^${num}(?:([+-])${num.replace('[+-]?', '')})?x(\\d+)$`).exec(tok);
    if (m) {
      const start = goParseNumber(m[1]!)!;
      const inc = m[2] ? (m[2] === '-' ? -1 : 1) * goParseNumber(m[3]!)! : 0;
      const times = Number(m[4]);
      let v = start;
      for (let k = 0; k <= times; k++) {
        out.push(v);
        v += inc;
      }
      continue;
    }
    const v = goParseNumber(tok);
    if (v === undefined) throw new ScriptError(`${file}:${line}: bad point "${tok}"`);
    out.push(v);
  }
  return out;
}

function labelKey(l: Readonly<Record<string, string>>): string {
  return Object.keys(l)
    .filter((k) => l[k] !== '')
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(',');
}

function show(l: Readonly<Record<string, string>>): string {
  return '{' + labelKey(l) + '}';
}

/** Loads a `load` command's points into the store (epoch 0 is the script's time 0). */
function applyLoad(store: SeriesStore, cmd: LoadCmd): void {
  for (const s of cmd.series) {
    const { __name__: metric = '', ...labels } = s.labels;
    s.points.forEach((p, k) => {
      const t = k * cmd.intervalMs;
      if (p === 'omitted' || p === 'histogram') return;
      if (p === 'stale') store.markStale([{ metric, labels }], t);
      else store.add([{ metric, labels, timestampMs: t, value: p } satisfies Sample]);
    });
  }
}

/** Series (label key → label set and time-stamped values) of a result, for comparison. */
interface ResultSeries {
  labels: Record<string, string>;
  points: Map<number, number>;
}

function compareVector(cmd: EvalCmd, got: Value): string | undefined {
  if (cmd.expectScalar !== undefined) {
    if (got.kind !== 'scalar') return `expected scalar ${cmd.expectScalar}, got a ${got.kind}`;
    return almostEqual(cmd.expectScalar, got.value, 1e-6) ? undefined : `expected scalar ${cmd.expectScalar} but got ${got.value}`;
  }
  if (got.kind !== 'vector') return `expected an instant vector, got a ${got.kind}`;
  const want = new Map<string, { pos: number; labels: Record<string, string>; value: Point }>();
  cmd.expected.forEach((s, pos) => {
    if (s.points.length > 1) throw new ScriptError(`line ${cmd.line}: several values in an instant result`);
    want.set(labelKey(s.labels), { pos, labels: s.labels, value: s.points[0] ?? 'omitted' });
  });
  const seen = new Set<string>();
  for (const [pos, s] of got.samples.entries()) {
    const k = labelKey(s.labels);
    if (seen.has(k)) return `duplicate label set ${show(s.labels)} in the result (Prometheus fails: vector cannot contain metrics with the same labelset)`;
    seen.add(k);
    const w = want.get(k);
    if (!w) return `unexpected metric ${show(s.labels)} in result, has value ${s.value}`;
    if (cmd.ordered && w.pos !== pos) return `expected ${show(s.labels)} at position ${w.pos + 1} but was at ${pos + 1}`;
    if (typeof w.value !== 'number' || !almostEqual(w.value, s.value, 1e-6)) return `expected ${String(w.value)} for ${show(s.labels)} but got ${s.value}`;
  }
  for (const [k, w] of want) if (!seen.has(k)) return `expected metric ${show(w.labels)} with ${String(w.value)} not found`;
  return undefined;
}

function compareMatrix(cmd: EvalCmd, got: ResultSeries[]): string | undefined {
  const r = cmd.range!;
  if (cmd.expectScalar !== undefined) return 'a range query cannot expect a scalar';
  const want = new Map(cmd.expected.map((s) => [labelKey(s.labels), s]));
  const seen = new Set<string>();
  for (const s of got) {
    const k = labelKey(s.labels);
    const w = want.get(k);
    if (!w) return `unexpected metric ${show(s.labels)} in result, has ${[...s.points].map(([t, v]) => `${v} @${t / 1000}`).join(' ')}`;
    seen.add(k);
    const expected: [number, number][] = [];
    for (const [i, p] of w.points.entries()) {
      const t = r.startMs + i * r.stepMs;
      if (t > r.endMs) return `expected ${w.points.length} points for ${show(w.labels)}, more than the time range holds`;
      if (typeof p === 'number') expected.push([t, p]);
    }
    if (expected.length !== s.points.size) {
      return `expected ${expected.length} points for ${show(w.labels)}, got ${s.points.size}: ${[...s.points].map(([t, v]) => `${v} @${t / 1000}`).join(' ')}`;
    }
    for (const [t, v] of expected) {
      const g = s.points.get(t);
      if (g === undefined) return `expected a point at t=${t / 1000} for ${show(w.labels)}, got none`;
      if (!almostEqual(v, g, 1e-6)) return `expected ${v} at t=${t / 1000} for ${show(w.labels)} but got ${g}`;
    }
  }
  for (const [k, w] of want) if (!seen.has(k)) return `expected metric ${show(w.labels)} not found`;
  return undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs one eval command against the store. */
function runEval(store: SeriesStore, cmd: EvalCmd): { status: CaseStatus; reason?: string } {
  let expr;
  try {
    expr = parsePromQL(cmd.expr);
  } catch (e) {
    if (!(e instanceof PromQLError)) throw e;
    if (cmd.fail && !e.unsupported) return { status: 'pass' };
    return { status: 'refused', reason: e.unsupported ? `unsupported: ${e.unsupported}` : e.message.replace(/ \(in `[\s\S]*`\)$/, '') };
  }
  try {
    if (cmd.range) {
      const { startMs, endMs, stepMs } = cmd.range;
      const series = evaluateRange(expr, store, startMs, endMs, stepMs);
      if (cmd.fail) return { status: 'wrong', reason: 'Prometheus fails, Vigie returned a result' };
      const got = series.map((s) => ({ labels: { ...s.labels }, points: new Map(s.ts.map((t, i) => [t, s.vs[i]!])) }));
      const keys = new Set<string>();
      for (const s of got) {
        const k = labelKey(s.labels);
        if (keys.has(k)) return { status: 'wrong', reason: `duplicate series ${show(s.labels)} in the range result` };
        keys.add(k);
      }
      const d = compareMatrix(cmd, got);
      return d ? { status: 'wrong', reason: d } : { status: 'pass' };
    }
    const v = evaluate(expr, store, cmd.atMs);
    if (cmd.fail) return { status: 'wrong', reason: 'Prometheus fails, Vigie returned a result' };
    if (cmd.expectString !== undefined) {
      return v.kind === 'string' && v.value === cmd.expectString ? { status: 'pass' } : { status: 'wrong', reason: `expected string "${cmd.expectString}"` };
    }
    const d = compareVector(cmd, v);
    return d ? { status: 'wrong', reason: d } : { status: 'pass' };
  } catch (e) {
    if (e instanceof ScriptError) throw e;
    if (cmd.fail) return { status: 'pass' };
    return { status: 'wrong', reason: `evaluation failed: ${errorText(e)}` };
  }
}

/** Runs a whole script; one result per eval command, in order. */
export function runScript(src: string, file: string): CaseResult[] {
  const cmds = parseScript(src, file);
  const out: CaseResult[] = [];
  let store = createSeriesStore({ retentionMs: Number.MAX_SAFE_INTEGER });
  let histograms: Record<string, string>[] = [];
  let startTimestamps = false;
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      store = createSeriesStore({ retentionMs: Number.MAX_SAFE_INTEGER });
      histograms = [];
      startTimestamps = false;
    } else if (cmd.kind === 'load') {
      applyLoad(store, cmd);
      histograms.push(...cmd.histograms);
      startTimestamps ||= cmd.startTimestamps;
    } else {
      const id = `${file}:${cmd.line}`;
      const skip = cmd.unsupported ?? (startTimestamps ? 'start timestamps (@st) in the loaded data' : selectsHistogram(cmd.expr, histograms));
      if (skip) {
        out.push({ id, line: cmd.line, expr: cmd.expr, status: 'skipped', reason: skip });
        continue;
      }
      const r = runEval(store, cmd);
      out.push({ id, line: cmd.line, expr: cmd.expr, ...r });
    }
  }
  return out;
}

/**
 * Whether the expression can select a loaded native-histogram series (its selectors'
 * matchers are checked against those series; when Vigie cannot parse the expression,
 * whether it names one of their metrics). Returns the skip reason.
 */
function selectsHistogram(exprText: string, histograms: readonly Record<string, string>[]): string | undefined {
  if (histograms.length === 0) return undefined;
  const reason = 'selects native histograms';
  let expr: unknown;
  try {
    expr = parsePromQL(exprText);
  } catch {
    const names = new Set(histograms.map((h) => h['__name__'] ?? ''));
    for (const n of names) if (n && new RegExp(`(^|[^A-Za-z0-9_:])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_:])`).test(exprText)) return reason;
    return /__name__/.test(exprText) ? reason : undefined;
  }
  const selectors: VectorSelector[] = [];
  const walk = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if ((n as { kind?: string }).kind === 'vectorSelector') selectors.push(n as VectorSelector);
    for (const v of Object.values(n)) if (v && typeof v === 'object' && !(v instanceof RegExp)) walk(v);
  };
  walk(expr);
  for (const sel of selectors) {
    for (const h of histograms) {
      if (sel.name !== undefined && h['__name__'] !== sel.name) continue;
      if (sel.matchers.every((m) => matchLabel(m, h[m.name] ?? ''))) return reason;
    }
  }
  return undefined;
}

/** Per-file counts of each status. */
export type Table = Record<string, Record<CaseStatus, number>>;

/** Counts outcomes per file (plus a `TOTAL` row). */
export function tabulate(results: Readonly<Record<string, readonly CaseResult[]>>): Table {
  const table: Table = {};
  const total = { pass: 0, wrong: 0, refused: 0, skipped: 0 };
  for (const [file, rs] of Object.entries(results)) {
    const row = { pass: 0, wrong: 0, refused: 0, skipped: 0 };
    for (const r of rs) {
      row[r.status]++;
      total[r.status]++;
    }
    table[file] = row;
  }
  table['TOTAL'] = total;
  return table;
}

/** The table as Markdown. */
export function tableMarkdown(t: Table): string {
  const lines = ['| file | passed | wrong | refused | skipped |', '|---|---:|---:|---:|---:|'];
  for (const [f, r] of Object.entries(t)) lines.push(`| ${f} | ${r.pass} | ${r.wrong} | ${r.refused} | ${r.skipped} |`);
  return lines.join('\n');
}
