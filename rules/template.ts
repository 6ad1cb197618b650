/**
 * A deliberately small subset of Prometheus alert templating for labels and
 * annotations: `{{ $labels.x }}`, `{{ $value }}`, `{{ .Labels.x }}`, `{{ .Value }}`,
 * pipes into `humanize`, `humanizeDuration`, `humanizePercentage`, `printf "%.1f"`,
 * and `{{ printf "%.0f" $value }}`. Templates are compiled once, at rule load.
 *
 * One Vigie extension (Prometheus would write `{{ with query … }}`): `{{ series "name" }}`
 * is the current value of the series `name` (a recorded one, typically) whose labels
 * agree with the alert's, so a page can say a signal's value, its limit and its forecast
 * band beside `$value`; NaN when there is none.
 */

/** Data a template sees. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Value of the series `metric` that agrees with `labels` at this evaluation (`series` function); undefined when none. */
  readonly series?: (metric: string) => number | undefined;
}

/** A compiled template. */
export type CompiledTemplate = (data: TemplateData) => string;

type Arg = { kind: 'value' } | { kind: 'label'; name: string } | { kind: 'string'; value: string } | { kind: 'number'; value: number };
type Stage = { fn: string; args: Arg[] };

/** Compiles a template; throws an Error describing the offending action. */
export function compileTemplate(text: string): CompiledTemplate {
  const parts: (string | Stage[])[] = [];
  let rest = text;
  while (rest.length) {
    const i = rest.indexOf('{{');
    if (i < 0) {
      parts.push(rest);
      break;
    }
    if (i > 0) parts.push(rest.slice(0, i));
    const j = rest.indexOf('}}', i);
    if (j < 0) throw new Error(`unclosed action "{{" in template "${text}"`);
    let action = rest.slice(i + 2, j);
    action = action.replace(/^-\s/, '').replace(/\s-$/, '').trim();
    parts.push(compileAction(action, text));
    rest = rest.slice(j + 2);
  }
  return (data) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : runPipeline(p, data);
    return out;
  };
}

function tokenize(action: string, text: string): string[] {
  const toks: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|]+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(action)) !== null) {
    toks.push(m[1]!);
    if (re.lastIndex >= action.length) break;
  }
  if (toks.join('').replace(/\s/g, '') !== action.replace(/\s/g, '')) throw new Error(`cannot parse action "{{ ${action} }}" in template "${text}"`);
  return toks;
}

function parseArg(tok: string, action: string, text: string): Arg {
  if (tok === '$value' || tok === '.Value' || tok === '$.Value') return { kind: 'value' };
  let m = /^(?:\$labels|\.Labels|\$\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(tok);
  if (m) return { kind: 'label', name: m[1]! };
  if (tok.startsWith('"')) return { kind: 'string', value: JSON.parse(tok) as string };
  if (tok.startsWith('`')) return { kind: 'string', value: tok.slice(1, -1) };
  m = /^-?\d+(\.\d+)?$/.exec(tok);
  if (m) return { kind: 'number', value: Number(tok) };
  throw new Error(`unsupported template argument "${tok}" in "{{ ${action} }}" of "${text}" (supported: $value, $labels.<name>, string and number literals)`);
}

const FUNCS = new Set(['humanize', 'humanizeDuration', 'humanizePercentage', 'printf', 'toUpper', 'toLower', 'title', 'series']);

function compileAction(action: string, text: string): Stage[] {
  const toks = tokenize(action, text);
  const segments: string[][] = [[]];
  for (const t of toks) {
    if (t === '|') segments.push([]);
    else segments[segments.length - 1]!.push(t);
  }
  const stages: Stage[] = [];
  segments.forEach((seg, idx) => {
    if (seg.length === 0) throw new Error(`empty pipeline stage in "{{ ${action} }}" of "${text}"`);
    const head = seg[0]!;
    if (FUNCS.has(head)) {
      stages.push({ fn: head, args: seg.slice(1).map((t) => parseArg(t, action, text)) });
    } else if (idx === 0 && seg.length === 1) {
      stages.push({ fn: 'id', args: [parseArg(head, action, text)] });
    } else {
      throw new Error(`unsupported template function "${head}" in "{{ ${action} }}" of "${text}" (supported: ${[...FUNCS].join(', ')})`);
    }
  });
  return stages;
}

function argValue(a: Arg, data: TemplateData): string | number {
  switch (a.kind) {
    case 'value':
      return data.value;
    case 'label':
      return data.labels[a.name] ?? '';
    case 'string':
    case 'number':
      return a.value;
  }
}

function runPipeline(stages: Stage[], data: TemplateData): string {
  let cur: string | number | undefined;
  for (const st of stages) {
    const args = st.args.map((a) => argValue(a, data));
    if (cur !== undefined) args.push(cur);
    switch (st.fn) {
      case 'id':
        cur = args[0];
        break;
      case 'humanize':
        cur = humanize(Number(args[0]));
        break;
      case 'humanizeDuration':
        cur = humanizeDuration(Number(args[0]));
        break;
      case 'humanizePercentage':
        cur = formatG(Number(args[0]) * 100, 4) + '%';
        break;
      case 'printf':
        cur = sprintf(String(args[0] ?? ''), args.slice(1));
        break;
      case 'toUpper':
        cur = String(args[0]).toUpperCase();
        break;
      case 'toLower':
        cur = String(args[0]).toLowerCase();
        break;
      case 'title':
        cur = String(args[0]).replace(/\b\w/g, (c) => c.toUpperCase());
        break;
      case 'series':
        cur = data.series?.(String(args[0])) ?? NaN;
        break;
    }
  }
  return typeof cur === 'number' ? formatValue(cur) : (cur ?? '');
}

/** Go's default float formatting (%v / strconv 'g' shortest) for $value. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const exp = v === 0 ? 0 : Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 21) return goExp(v.toExponential());
  return String(v);
}

function goExp(s: string): string {
  // JS "1.5e+21" → Go "1.5e+21"; JS "1e-7" → Go "1e-07".
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Go `%.{prec}g`. */
export function formatG(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const e = Number(v.toExponential(prec - 1).split('e')[1]);
  if (e < -4 || e >= prec) {
    const [mant, ex] = v.toExponential(prec - 1).split('e');
    return goExp(stripZeros(mant!) + 'e' + ex);
  }
  return stripZeros(v.toFixed(Math.max(0, prec - 1 - e)));
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Prometheus `humanize`: SI prefixes, 4 significant digits. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  if (Math.abs(v) >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
      v /= 1000;
      i++;
    }
    return formatG(v, 4) + prefixes[i];
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  while (Math.abs(v) < 1 && i < prefixes.length - 1) {
    v *= 1000;
    i++;
  }
  return formatG(v, 4) + prefixes[i];
}

/** Prometheus `humanizeDuration` (seconds → "1h 2m 3s"). */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return formatG(v, 4);
  if (Math.abs(v) >= 1 && Math.abs(v) < 60) return formatG(v, 4) + 's';
  if (Math.abs(v) < 1) {
    if (v === 0) return '0s';
    if (Math.abs(v) >= 1e-3) return formatG(v * 1e3, 4) + 'ms';
    if (Math.abs(v) >= 1e-6) return formatG(v * 1e6, 4) + 'us';
    return formatG(v * 1e9, 4) + 'ns';
  }
  const sign = v < 0 ? '-' : '';
  const total = Math.trunc(Math.abs(v));
  const days = Math.floor(total / 86400);
  const hours = Math.floor(total / 3600) % 24;
  const minutes = Math.floor(total / 60) % 60;
  const seconds = total % 60;
  if (days) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
  if (hours) return `${sign}${hours}h ${minutes}m ${seconds}s`;
  return `${sign}${minutes}m ${seconds}s`;
}

/** Minimal Go-style printf: %s %v %d %f %.Nf %g %.Ng %e %%. */
export function sprintf(fmt: string, args: readonly (string | number)[]): string {
  let i = 0;
  return fmt.replace(/%(%|(\.\d+)?([svdfge]))/g, (_m, all: string, precPart: string | undefined, verb: string | undefined) => {
    if (all === '%') return '%';
    const a = args[i++];
    if (a === undefined) return `%!${verb}(MISSING)`;
    const prec = precPart ? Number(precPart.slice(1)) : undefined;
    const n = Number(a);
    switch (verb) {
      case 's':
      case 'v':
        return typeof a === 'number' ? formatValue(a) : a;
      case 'd':
        return Number.isFinite(n) ? String(Math.trunc(n)) : formatValue(n);
      case 'f':
        return Number.isFinite(n) ? n.toFixed(prec ?? 6) : formatValue(n);
      case 'e':
        return Number.isFinite(n) ? goExp(n.toExponential(prec ?? 6)) : formatValue(n);
      case 'g':
        return prec === undefined ? formatValue(n) : formatG(n, prec);
      default:
        return String(a);
    }
  });
}
