/**
 * Saved post-mortem queries: plain SQL files in `./queries/NAME.sql` that engineers read
 * and edit. A header declares what the query needs:
 *
 *     -- description: one line shown by `vigie query` without a name
 *     -- param: faculty String = ''        (optional, with a default)
 *     -- param: from DateTime64(3)         (required)
 *
 * Values reach ClickHouse only as `query_params` bound to `{name:Type}` placeholders —
 * never spliced into the text — and the database as `{db:Identifier}`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../core/errors.ts';
import { isIdentifier } from '../schema/queries.ts';

/** Directory of the saved queries shipped with Vigie. */
export const SAVED_QUERIES_DIR = fileURLToPath(new URL('./queries/', import.meta.url));

/** Parameter types a saved query may declare. */
const PARAM_TYPES = /^(String|Float64|Float32|U?Int(8|16|32|64)|DateTime64\(3\)|DateTime)$/;

/** One declared parameter. */
export interface SavedQueryParam {
  readonly name: string;
  readonly type: string;
  /** Default (raw text, parsed like a command-line value); absent when required. */
  readonly default?: string;
}

/** A saved query as loaded from disk. */
export interface SavedQuery {
  readonly name: string;
  readonly description: string;
  readonly params: readonly SavedQueryParam[];
  readonly sql: string;
}

/** A query result: column names and types, then rows in column order. */
export interface QueryResult {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  readonly rows: readonly (readonly unknown[])[];
}

const NAME = /^[a-z][a-z0-9_]*$/;

/** Parses a query's header comments; throws on a malformed or unsupported declaration. */
export function parseSavedQuery(name: string, sql: string): SavedQuery {
  const params: SavedQueryParam[] = [];
  let description = '';
  for (const line of sql.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('--')) {
      if (t === '') continue;
      break; // header ends at the first line of SQL
    }
    const d = /^--\s*description:\s*(.*)$/.exec(t);
    if (d) description = d[1]!.trim();
    const p = /^--\s*param:\s*(\w+)\s+(\S+?)(?:\s*=\s*(.*))?$/.exec(t);
    if (!p) continue;
    const [, pname, type, def] = p as unknown as [string, string, string, string | undefined];
    if (!PARAM_TYPES.test(type)) throw new ConfigError(`saved query ${name}: parameter ${pname} has unsupported type ${type}`);
    if (pname === 'db') throw new ConfigError(`saved query ${name}: "db" is reserved for the database`);
    const dflt = def === undefined ? undefined : def.trim().replace(/^'(.*)'$/, '$1');
    params.push(dflt === undefined ? { name: pname, type } : { name: pname, type, default: dflt });
  }
  for (const m of sql.matchAll(/\{(\w+):([^}]+)\}/g)) {
    const [, pname, type] = m as unknown as [string, string, string];
    if (pname === 'db') continue;
    const decl = params.find((x) => x.name === pname);
    if (!decl) throw new ConfigError(`saved query ${name}: placeholder {${pname}:${type}} has no "-- param: ${pname} ${type}" line`);
    if (decl.type !== type) throw new ConfigError(`saved query ${name}: {${pname}:${type}} does not match the declared type ${decl.type}`);
  }
  return { name, description, params, sql };
}

/** Names of the saved queries in `dir`, sorted. */
export function savedQueryNames(dir: string = SAVED_QUERIES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql') && NAME.test(f.slice(0, -4)))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Every saved query in `dir`. */
export function listSavedQueries(dir: string = SAVED_QUERIES_DIR): SavedQuery[] {
  return savedQueryNames(dir).map((n) => loadSavedQuery(n, dir));
}

/** Loads one saved query; an unknown name fails with the list of available ones. */
export function loadSavedQuery(name: string, dir: string = SAVED_QUERIES_DIR): SavedQuery {
  const names = savedQueryNames(dir);
  if (!NAME.test(name) || !names.includes(name)) {
    throw new ConfigError(`unknown query "${name}"; available: ${names.join(', ')}`);
  }
  return parseSavedQuery(name, readFileSync(`${dir}${dir.endsWith('/') ? '' : '/'}${name}.sql`, 'utf8'));
}

/** Parses one raw value for its declared type; errors name the parameter. */
function parseValue(q: SavedQuery, p: SavedQueryParam, raw: string): string | number {
  const bad = (what: string): never => {
    throw new ConfigError(`query ${q.name}: --param ${p.name}=${JSON.stringify(raw)} is not ${what}`);
  };
  if (p.type === 'String') return raw;
  if (p.type.startsWith('DateTime')) {
    // Epoch milliseconds: unambiguous whatever the server's time zone.
    const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(ms)) bad('a time (ISO 8601 such as 2026-01-12T09:00:00Z, or epoch ms)');
    return p.type === 'DateTime' ? Math.floor(ms / 1000) : ms;
  }
  if (p.type.startsWith('Float')) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) bad('a number');
    return n;
  }
  if (!/^-?\d+$/.test(raw.trim())) bad(`an integer (${p.type})`);
  if (p.type.startsWith('U') && raw.trim().startsWith('-')) bad(`a non-negative integer (${p.type})`);
  return raw.trim();
}

/**
 * Binds raw `k=v` values to the query's declared parameters: defaults fill optional
 * ones, a missing required one or an undeclared one is an error that names it.
 */
export function bindParams(q: SavedQuery, raw: Readonly<Record<string, string>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of Object.keys(raw)) {
    if (!q.params.some((p) => p.name === k)) {
      throw new ConfigError(`query ${q.name} has no parameter "${k}"; it takes: ${q.params.map(describeParam).join(', ') || 'none'}`);
    }
  }
  for (const p of q.params) {
    const v = raw[p.name] ?? p.default;
    if (v === undefined) throw new ConfigError(`query ${q.name}: missing parameter "${p.name}" (${p.type}); pass --param ${p.name}=…`);
    out[p.name] = parseValue(q, p, v);
  }
  return out;
}

/** `from DateTime64(3)` or `faculty String = ''`. */
export function describeParam(p: SavedQueryParam): string {
  return p.default === undefined ? `${p.name} ${p.type}` : `${p.name} ${p.type} = '${p.default}'`;
}

/** Runs a saved query with bound parameters on `database`. */
export async function runSavedQuery(
  client: ClickHouseClient,
  opts: { readonly name: string; readonly params: Readonly<Record<string, string>>; readonly database: string; readonly dir?: string },
): Promise<QueryResult> {
  if (!isIdentifier(opts.database)) {
    throw new ConfigError(`database "${opts.database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  const q = loadSavedQuery(opts.name, opts.dir);
  const query_params = { ...bindParams(q, opts.params), db: opts.database };
  const rs = await client.query({ query: q.sql, query_params, format: 'JSONCompactEachRowWithNamesAndTypes' });
  const [names, types, ...rows] = await rs.json<unknown[]>();
  const n = (names ?? []) as string[];
  const t = (types ?? []) as string[];
  return { columns: n.map((name, i) => ({ name, type: t[i] ?? '' })), rows };
}

const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Renders a result as an aligned text table, CSV (RFC 4180 quoting) or JSON (array of objects). */
export function formatResult(r: QueryResult, format: 'table' | 'csv' | 'json'): string {
  const names = r.columns.map((c) => c.name);
  if (format === 'json') {
    return JSON.stringify(r.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null]))), null, 2) + '\n';
  }
  if (format === 'csv') {
    const q = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    return [names, ...r.rows.map((row) => names.map((_, i) => cell(row[i])))].map((line) => line.map(q).join(',')).join('\n') + '\n';
  }
  const text = [names, ...r.rows.map((row) => names.map((_, i) => (row[i] === null ? '-' : cell(row[i]))))];
  const widths = names.map((_, i) => Math.max(...text.map((line) => line[i]!.length)));
  const numeric = r.columns.map((c) => /^(Nullable\()?(U?Int|Float|Decimal)/.test(c.type));
  const fmt = (line: string[]): string =>
    line.map((s, i) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [fmt(text[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...text.slice(1).map(fmt)];
  if (r.rows.length === 0) out.push('(no rows)');
  return out.join('\n') + '\n';
}
