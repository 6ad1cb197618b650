/**
 * A read-only, ClickHouse-compatible HTTP endpoint over the embedded chDB directory that
 * this process holds. chDB lets one process open a data directory, so without it neither
 * Grafana nor `vigie postmortem` / `vigie query` could read a running `vigie ingest` or
 * `vigie demo`. It speaks the subset of ClickHouse's HTTP interface that
 * `@clickhouse/client` and Grafana's ClickHouse data source use in HTTP mode: `/ping`,
 * the query in `query=` and/or the POST body (or a multipart form), `database`,
 * `default_format`, `param_*` parameters, settings as URL parameters, basic auth or
 * `X-ClickHouse-User`/`-Key`, gzip both ways.
 *
 * Lives next to `storage.ts` because it is the storage's second face: the process that
 * opened the directory serves it, and readers reach it through the same `Storage` handle.
 *
 * With `writable` (what `vigie store serve` runs) it also accepts inserts and DDL: the
 * embedded engine then stands in for a ClickHouse server shared by several processes.
 *
 * Isolation: every request runs on a chDB session of its own on the same path (cheap,
 * ~1.5 ms; sessions on one path run in parallel, so a dashboard query never queues
 * behind the pipeline's inserts), with `readonly = 2` set first: the engine refuses any
 * write, and the request's settings are `SET` on that session only, so nothing leaks into
 * the pipeline's connection or into the next request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import chdb from 'chdb';

/** Options of {@link startReadEndpoint}. */
export interface ReadEndpointOptions {
  /** The chDB data directory this process has open (absolute). */
  readonly chdbPath: string;
  /** Database used when a request names none (default `vigie`). */
  readonly database?: string;
  /** Interface to bind (default 127.0.0.1: the endpoint has no TLS). */
  readonly host?: string;
  /** Port; 0 picks a free one (default 8123, ClickHouse's HTTP port). */
  readonly port?: number;
  /** Accepted user (default `default`). */
  readonly username?: string;
  /** Required password; none (the default) accepts any password for `username`. */
  readonly password?: string;
  /** One line per refused request or server error (default none). */
  readonly log?: (line: string) => void;
  /**
   * Accept writes too (`vigie store serve`): then several processes (ingest instances of
   * one consumer group, an HA pair of rule evaluators) share one embedded database as
   * they would share a ClickHouse server. Default false: the writer's own endpoint is
   * read-only, so a reader can never disturb the pipeline's exactly-once bookkeeping.
   */
  readonly writable?: boolean;
}

/** A running endpoint. */
export interface ReadEndpoint {
  /** `http://host:port` as clients reach it. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** ClickHouse error codes the endpoint answers with (the client parses them from the body). */
const CODES = {
  syntax: 62,
  readonly: 164,
  auth: 516,
  unknownSetting: 115,
  unsupported: 48,
} as const;

/** Parameters of the HTTP interface that are not settings. */
const NOT_SETTINGS = new Set(['query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'quota_key', 'role', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'add_http_cors_header']);
/** HTTP-layer settings the embedded engine does not know; honoured here or ignored. */
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_zlib_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'http_send_progress_interval_ms',
  'http_wait_end_of_query',
  'output_format_json_quote_64bit_integers_unused',
]);
/** First keywords of statements that only read. Writes are refused by the engine too (`readonly = 2`). */
const READ_STATEMENT = /^(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN|\()/i;

const CONTENT_TYPES: Record<string, string> = {
  JSON: 'application/json; charset=UTF-8',
  JSONCompact: 'application/json; charset=UTF-8',
  JSONEachRow: 'application/x-ndjson; charset=UTF-8',
  JSONCompactEachRow: 'application/x-ndjson; charset=UTF-8',
  JSONStringsEachRow: 'application/x-ndjson; charset=UTF-8',
  CSV: 'text/csv; charset=UTF-8; header=absent',
  CSVWithNames: 'text/csv; charset=UTF-8; header=present',
};

/** An error answered in ClickHouse's shape: `Code: N. DB::Exception: … (TYPE)`. */
class EndpointError extends Error {
  readonly code: number;
  readonly type: string;
  readonly status: number;
  constructor(code: number, type: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.type = type;
    this.status = status;
  }
}

/** Removes leading comments and blanks, so the first keyword can be checked. */
function stripLeading(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.replace(/^\s*(--[^\n]*(\n|$)|#[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)/, '');
    if (t === s) return s.trimStart();
    s = t;
  }
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v' };

/**
 * ClickHouse reads `param_*` values in its escaped (TSV) form, which is how
 * `@clickhouse/client` sends them (`it\'s`); the embedded binder takes the plain value.
 */
export function unescapeParam(v: string): string {
  return v.replace(/\\(.)/gs, (_m, c: string) => ESCAPES[c] ?? c);
}

function sqlLiteral(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const enc = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (enc === 'gzip') return gunzipSync(raw);
  if (enc && enc !== 'identity') throw new EndpointError(CODES.unsupported, 'NOT_IMPLEMENTED', 400, `request Content-Encoding "${enc}" is not supported by Vigie's endpoint (gzip only)`);
  return raw;
}

interface Credentials {
  readonly user: string;
  readonly password: string;
}

function credentialsOf(req: IncomingMessage, params: URLSearchParams): Credentials {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return { user: i < 0 ? decoded : decoded.slice(0, i), password: i < 0 ? '' : decoded.slice(i + 1) };
  }
  const hUser = req.headers['x-clickhouse-user'];
  if (typeof hUser === 'string') return { user: hUser, password: String(req.headers['x-clickhouse-key'] ?? '') };
  return { user: params.get('user') ?? 'default', password: params.get('password') ?? '' };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The query text and parameters of one request (URL, body, or multipart form). */
async function requestQuery(req: IncomingMessage, url: URL): Promise<{ sql: string; params: URLSearchParams }> {
  const params = new URLSearchParams(url.searchParams);
  let sql = params.get('query') ?? '';
  if (req.method === 'POST') {
    const body = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': type } }).formData();
      for (const [k, v] of form.entries()) {
        if (typeof v !== 'string') continue;
        if (k === 'query') sql = sql ? `${sql}\n${v}` : v;
        else params.set(k, v);
      }
    } else if (body.length > 0) {
      sql = sql ? `${sql}\n${body.toString('utf8')}` : body.toString('utf8');
    }
  }
  return { sql, params };
}

/** Starts the endpoint; resolves once it listens. */
export async function startReadEndpoint(opts: ReadEndpointOptions): Promise<ReadEndpoint> {
  const host = opts.host ?? '127.0.0.1';
  const database = opts.database ?? 'vigie';
  const username = opts.username ?? 'default';
  const log = opts.log ?? (() => {});

  const run = async (sql: string, params: URLSearchParams): Promise<{ body: Uint8Array; format: string; summary: Record<string, string> }> => {
    const session = new chdb.Session(opts.chdbPath);
    try {
      if (!opts.writable) await session.queryAsync('SET readonly = 2');
      const db = params.get('database') ?? database;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new EndpointError(81, 'UNKNOWN_DATABASE', 404, `database "${db}" is not an identifier`);
      try {
        await session.queryAsync(`USE \`${db}\``);
      } catch (err) {
        // A writer's first statement may be the CREATE DATABASE of the default one.
        if (!(opts.writable && !params.has('database') && /UNKNOWN_DATABASE|does not exist/.test(String(err)))) throw err;
      }
      const binds: Record<string, string> = {};
      for (const [k, v] of params) {
        if (k.startsWith('param_')) binds[k.slice(6)] = unescapeParam(v);
        else if (!NOT_SETTINGS.has(k) && !HTTP_ONLY_SETTINGS.has(k)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new EndpointError(CODES.unknownSetting, 'UNKNOWN_SETTING', 400, `setting name "${k}" is not an identifier`);
          await session.queryAsync(`SET ${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : sqlLiteral(v)}`);
        }
      }
      const format = params.get('default_format') ?? 'TabSeparated';
      const r = Object.keys(binds).length > 0 ? await session.queryBindAsync(sql, binds, { format }) : await session.queryAsync(sql, { format });
      const summary = {
        read_rows: String(r.rowsRead ?? 0),
        read_bytes: String(r.bytesRead ?? 0),
        written_rows: '0',
        written_bytes: '0',
        total_rows_to_read: String(r.rowsRead ?? 0),
        result_rows: String(r.rowsRead ?? 0),
        result_bytes: String(r.bytesRead ?? 0),
        elapsed_ns: String(Math.round((r.elapsed ?? 0) * 1e9)),
      };
      return { body: r.bytes(), format, summary };
    } finally {
      session.close();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://endpoint');
    const queryId = url.searchParams.get('query_id') ?? randomUUID();
    const base = { 'X-ClickHouse-Server-Display-Name': 'vigie', 'X-ClickHouse-Timezone': 'UTC', 'X-ClickHouse-Query-Id': queryId };
    try {
      if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
        res.writeHead(200, { ...base, 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
        return;
      }
      if (url.pathname !== '/') throw new EndpointError(CODES.unsupported, 'NOT_IMPLEMENTED', 404, `no handler for ${req.method} ${url.pathname}: Vigie's endpoint serves / and /ping`);
      if (req.method !== 'GET' && req.method !== 'POST') throw new EndpointError(CODES.unsupported, 'NOT_IMPLEMENTED', 405, `method ${req.method} is not supported`);
      const { sql, params } = await requestQuery(req, url);
      const who = credentialsOf(req, params);
      if (who.user !== username || (opts.password !== undefined && !sameSecret(who.password, opts.password))) {
        throw new EndpointError(CODES.auth, 'AUTHENTICATION_FAILED', 401, `${who.user}: Authentication failed: password is incorrect, or there is no user with such name`);
      }
      if (params.get('compress') === '1') throw new EndpointError(CODES.unsupported, 'NOT_IMPLEMENTED', 400, 'compress=1 (ClickHouse block compression) is not supported by Vigie\'s endpoint; use HTTP gzip (enable_http_compression=1)');
      const statement = stripLeading(sql);
      if (statement === '') throw new EndpointError(CODES.syntax, 'SYNTAX_ERROR', 400, 'Empty query');
      if (!opts.writable && !READ_STATEMENT.test(statement)) {
        throw new EndpointError(CODES.readonly, 'READONLY', 403, `Cannot execute query in readonly mode: Vigie's endpoint is read-only (got "${statement.slice(0, 40)}…")`);
      }
      const r = await run(sql, params);
      let body: Uint8Array = r.body;
      const headers: Record<string, string> = {
        ...base,
        'Content-Type': CONTENT_TYPES[r.format] ?? 'text/plain; charset=UTF-8',
        'X-ClickHouse-Format': r.format,
        'X-ClickHouse-Summary': JSON.stringify(r.summary),
      };
      if (params.get('enable_http_compression') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        body = gzipSync(body);
        headers['Content-Encoding'] = 'gzip';
      }
      res.writeHead(200, headers).end(body);
    } catch (err) {
      const e =
        err instanceof EndpointError
          ? err
          : (() => {
              const msg = err instanceof Error ? err.message : String(err);
              const m = /^Code: (\d+)\. /.exec(msg);
              return new EndpointError(m ? Number(m[1]) : 1002, 'UNKNOWN_EXCEPTION', m && Number(m[1]) === CODES.readonly ? 403 : 500, msg.replace(/^Code: \d+\. DB::Exception: /, ''));
            })();
      const text = `Code: ${e.code}. DB::Exception: ${e.message}${/\([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*\)\s*$/.test(e.message) ? '' : ` (${e.type})`}\n`;
      if (e.status >= 500) log(`vigie endpoint.error: ${text.trim()}`);
      if (!res.headersSent) res.writeHead(e.status, { ...base, 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': String(e.code) });
      res.end(text);
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8123, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
