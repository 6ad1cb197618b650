/**
 * Prometheus text exposition (0.0.4) and OpenMetrics 1.0 parsing into samples, for the
 * generic `/metrics` scrape (database exporters, JVMs) and `vigie import --openmetrics`
 * (backfilling history: OpenMetrics timestamps are seconds, 0.0.4 ones milliseconds).
 * Lines that do not parse are returned with their line number, never silently skipped.
 */
import type { PromSample } from './remoteWrite.ts';

/** Result of parsing one exposition. */
export interface ParsedExposition {
  readonly samples: PromSample[];
  /** `# TYPE` of each family. */
  readonly types: ReadonlyMap<string, string>;
  readonly errors: { readonly line: number; readonly text: string; readonly reason: string }[];
  /** True when the OpenMetrics `# EOF` terminator was seen. */
  readonly sawEof: boolean;
}

/** Options of {@link parseExposition}. */
export interface ParseExpositionOptions {
  /** `openmetrics`: timestamps in seconds; `prometheus`: milliseconds. */
  readonly flavour: 'openmetrics' | 'prometheus';
  /** Timestamp for samples that carry none. */
  readonly defaultTimestampMs: number;
}

function parseValue(s: string): number {
  switch (s) {
    case '+Inf':
    case 'Inf':
    case '+inf':
      return Infinity;
    case '-Inf':
    case '-inf':
      return -Infinity;
    case 'NaN':
    case 'nan':
      return NaN;
    default:
      return s.trim() === '' ? NaN : Number(s);
  }
}

/** Parses the label set starting after `{`; returns labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error('label without "="');
    const name = line.slice(i, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name "${name}"`);
    if (line[eq + 1] !== '"') throw new Error(`label ${name}: value must be quoted`);
    let v = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        const n = line[++j];
        v += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
      } else v += line[j];
    }
    if (j >= line.length) throw new Error(`label ${name}: unterminated value`);
    labels[name] = v;
    i = j + 1;
  }
}

/** Parses an exposition text into samples. */
export function parseExposition(text: string, opts: ParseExpositionOptions): ParsedExposition {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const errors: { line: number; text: string; reason: string }[] = [];
  let sawEof = false;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      if (/^#\s*EOF\s*$/.test(line)) {
        sawEof = true;
        break;
      }
      continue;
    }
    try {
      const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
      if (!nm) throw new Error('no metric name');
      const name = nm[0];
      let i = name.length;
      let labels: Record<string, string> = {};
      if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i + 1));
      // Exemplars (OpenMetrics ` # {…} v`) are dropped.
      const rest = line.slice(i).split(' # ')[0]!.trim().split(/\s+/);
      if (rest.length < 1 || rest[0] === '') throw new Error('no value');
      const value = parseValue(rest[0]!);
      if (Number.isNaN(value) && rest[0] !== 'NaN' && rest[0] !== 'nan') throw new Error(`bad value "${rest[0]}"`);
      let timestampMs = opts.defaultTimestampMs;
      if (rest[1] !== undefined) {
        const t = Number(rest[1]);
        if (!Number.isFinite(t)) throw new Error(`bad timestamp "${rest[1]}"`);
        timestampMs = opts.flavour === 'openmetrics' ? Math.round(t * 1000) : Math.round(t);
      }
      // OpenMetrics `_created` series restate a start time; they are not data.
      if (name.endsWith('_created') && types.get(name.slice(0, -'_created'.length)) !== undefined) continue;
      samples.push({ labels: { __name__: name, ...labels }, value, timestampMs });
    } catch (err) {
      errors.push({ line: n + 1, text: line.slice(0, 200), reason: (err as Error).message });
    }
  }
  return { samples, types, errors, sawEof };
}
