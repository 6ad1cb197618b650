/**
 * Expands panel SQL the way Grafana and the ClickHouse plugin (v4) do at query time, so
 * tests can run every panel's SQL on a real engine. Two passes, in Grafana's order:
 * template variables (`$var`, `${var}`, `${var:format}`) in the frontend, then the
 * plugin's backend macros (`$__timeFilter(col)`, `$__timeInterval(col)`, `$__fromTime`, …).
 */
import { ConfigError } from '../core/errors.ts';

/** Query-time context: the dashboard's time range, the panel interval and variable values. */
export interface MacroContext {
  /** Range start, epoch milliseconds. */
  readonly from: number;
  /** Range end, epoch milliseconds. */
  readonly to: number;
  /** Panel interval in milliseconds (Grafana's `$__interval_ms`). */
  readonly intervalMs: number;
  /** Dashboard variables by name; an array for multi-value variables. */
  readonly vars?: Readonly<Record<string, string | readonly string[]>>;
}

/** Expands Grafana variables then plugin macros; throws on unknown ones. */
export function expandMacros(sql: string, ctx: MacroContext): string {
  return expandPluginMacros(expandVariables(sql, ctx.vars ?? {}), ctx);
}

/** Grafana's variable formats that panel SQL may use. */
function formatValue(name: string, value: string | readonly string[], format: string | undefined): string {
  const values = typeof value === 'string' ? [value] : value;
  switch (format) {
    case undefined:
    case 'raw':
      return values.join(',');
    case 'csv':
      return values.join(',');
    case 'singlequote':
      // Grafana escapes a single quote with a backslash and nothing else.
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    case 'doublequote':
      return values.map((v) => `"${v.replace(/"/g, '\\"')}"`).join(',');
    case 'sqlstring':
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
    default:
      throw new ConfigError(
        `variable \${${name}:${format}} uses a format expandMacros does not know; use raw, csv, singlequote, doublequote or sqlstring`,
      );
  }
}

/** First pass: `${name}`, `${name:format}` and `$name` (not `$__…`, which are macros). */
function expandVariables(sql: string, vars: Readonly<Record<string, string | readonly string[]>>): string {
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(?!__)([A-Za-z]\w*)/g, (whole, bName, fmt, plainName) => {
    const name = (bName ?? plainName) as string;
    if (name.startsWith('__')) return whole;
    const value = vars[name];
    if (value === undefined) {
      throw new ConfigError(`SQL uses the variable $${name} but no value was given; pass it in vars`);
    }
    return formatValue(name, value, fmt as string | undefined);
  });
}

/** Reads the parenthesised argument list starting at `open` (index of `(`); returns args and end index. */
function readArgs(sql: string, open: number): { args: string[]; end: number } {
  let depth = 0;
  let start = open + 1;
  const args: string[] = [];
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        args.push(sql.slice(start, i).trim());
        return { args: args.length === 1 && args[0] === '' ? [] : args, end: i + 1 };
      }
    } else if (ch === ',' && depth === 1) {
      args.push(sql.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new ConfigError(`unbalanced parentheses after macro at offset ${open} in: ${sql.slice(open, open + 60)}`);
}

function oneArg(name: string, args: string[]): string {
  if (args.length !== 1 || !args[0]) {
    throw new ConfigError(`macro $__${name} expects 1 argument, received ${args.length}`);
  }
  return args[0];
}

const sec = (ms: number): number => Math.floor(ms / 1000);
const dt = (ms: number): string => `toDateTime(${sec(ms)})`;
const dt64 = (ms: number): string => `fromUnixTimestamp64Milli(${Math.trunc(ms)})`;

/** Second pass: the plugin's macros, with its exact output text. */
function expandPluginMacros(sql: string, ctx: MacroContext): string {
  const intervalS = Math.max(Math.floor(ctx.intervalMs / 1000), 1);
  const intervalMs = Math.max(Math.floor(ctx.intervalMs), 1);
  let out = '';
  let i = 0;
  const re = /\$__(\w+)/g;
  for (let m = re.exec(sql); m !== null; m = re.exec(sql)) {
    const name = m[1] as string;
    out += sql.slice(i, m.index);
    let end = m.index + m[0].length;
    let args: string[] = [];
    if (sql[end] === '(') {
      const r = readArgs(sql, end);
      args = r.args;
      end = r.end;
    }
    let rep: string;
    switch (name) {
      case 'fromTime':
        rep = dt(ctx.from);
        break;
      case 'toTime':
        rep = dt(ctx.to);
        break;
      case 'fromTime_ms':
        rep = dt64(ctx.from);
        break;
      case 'toTime_ms':
        rep = dt64(ctx.to);
        break;
      case 'timeFilter': {
        const c = oneArg(name, args);
        rep = `${c} >= ${dt(ctx.from)} AND ${c} <= ${dt(ctx.to)}`;
        break;
      }
      case 'timeFilter_ms': {
        const c = oneArg(name, args);
        rep = `${c} >= ${dt64(ctx.from)} AND ${c} <= ${dt64(ctx.to)}`;
        break;
      }
      case 'timeInterval':
        rep = `toStartOfInterval(toDateTime(${oneArg(name, args)}), INTERVAL ${intervalS} second)`;
        break;
      case 'timeInterval_ms':
        rep = `toStartOfInterval(toDateTime64(${oneArg(name, args)}, 3), INTERVAL ${intervalMs} millisecond)`;
        break;
      case 'interval_s':
        rep = String(intervalS);
        break;
      default:
        throw new ConfigError(`unknown macro $__${name}; the ClickHouse plugin would leave it unexpanded`);
    }
    out += rep;
    i = end;
    re.lastIndex = end;
  }
  return out + sql.slice(i);
}
