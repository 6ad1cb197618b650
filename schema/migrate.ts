/**
 * Versioned schema migrations: `./migrations/NNN_name.sql`, applied in order and recorded
 * in `schema_migrations`. Idempotent (every statement is `IF NOT EXISTS`, applied
 * versions are skipped). One set of files serves both modes:
 *
 * - embedded / single server: plain `*MergeTree` engines, tables under their own names;
 * - cluster (`cluster: 'name'`): `ON CLUSTER`, `Replicated*MergeTree` local tables named
 *   `<table>_local`, and `Distributed` tables under the names of `TABLES`, so readers
 *   never know which mode they run in.
 *
 * Placeholders: `{{database}}`, `{{on_cluster}}`, `{{cluster}}`, `{{local:<table>}}`,
 * `{{engine:<Engine>(<args>)}}`; a statement whose text contains `-- @cluster-only` runs
 * in cluster mode only. (`{shard}`/`{replica}`/`{database}` single braces are ClickHouse
 * macros and are left alone.)
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../core/errors.ts';
import { TABLES } from './tables.ts';

/** Where and how to migrate. */
export interface MigrateOptions {
  readonly database: string;
  /** Cluster name from the server's `remote_servers`; omit for one server or chDB. */
  readonly cluster?: string;
}

/** One migration file. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  readonly applied: readonly string[];
  readonly alreadyApplied: readonly string[];
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads `./migrations/*.sql` in version order. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) continue;
    const sql = readFileSync(dir + file, 'utf8');
    out.push({
      version: Number(m[1]),
      name: file.replace(/\.sql$/, ''),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16),
    });
  }
  const versions = new Set(out.map((x) => x.version));
  if (versions.size !== out.length) throw new ConfigError(`duplicate migration version in ${dir}`);
  return out;
}

function checkOptions(opts: MigrateOptions): void {
  if (!IDENT.test(opts.database)) {
    throw new ConfigError(`database name ${JSON.stringify(opts.database)} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  }
  if (opts.cluster !== undefined && !IDENT.test(opts.cluster)) {
    throw new ConfigError(`cluster name ${JSON.stringify(opts.cluster)} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  }
}

function renderEngine(spec: string, cluster: boolean): string {
  const m = /^(\w+)(?:\((.*)\))?$/.exec(spec.trim());
  if (!m) throw new ConfigError(`bad engine placeholder {{engine:${spec}}}`);
  const [, name, args] = m;
  if (!cluster) return args ? `${name}(${args})` : `${name}`;
  const replicated = [`'/clickhouse/tables/{shard}/{database}/{table}'`, `'{replica}'`];
  if (args) replicated.push(args);
  return `Replicated${name}(${replicated.join(', ')})`;
}

/** Renders one migration into the statements to run for `opts`, in order. */
export function renderMigration(sql: string, opts: MigrateOptions): string[] {
  checkOptions(opts);
  const cluster = opts.cluster !== undefined;
  const statements: string[] = [];
  for (const raw of sql.split(/;[ \t]*(?:\r?\n|$)/)) {
    const text = raw.trim();
    if (!text || text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('--'))) continue;
    if (text.includes('-- @cluster-only') && !cluster) continue;
    statements.push(
      text.replace(/\{\{(\w+)(?::([^}]*))?\}\}/g, (whole, key: string, arg: string | undefined) => {
        switch (key) {
          case 'database':
            return opts.database;
          case 'on_cluster':
            return cluster ? `ON CLUSTER ${opts.cluster}` : '';
          case 'cluster':
            if (!cluster) throw new ConfigError(`{{cluster}} used outside a cluster-only statement`);
            return `'${opts.cluster}'`;
          case 'local':
            return cluster ? `${arg}_local` : `${arg}`;
          case 'engine':
            return renderEngine(arg ?? '', cluster);
          default:
            throw new ConfigError(`unknown placeholder ${whole} in a migration`);
        }
      }),
    );
  }
  return statements;
}

function bootstrap(opts: MigrateOptions): string[] {
  return renderMigration(
    `CREATE DATABASE IF NOT EXISTS {{database}} {{on_cluster}};
CREATE TABLE IF NOT EXISTS {{database}}.${TABLES.migrations} {{on_cluster}}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{engine:ReplacingMergeTree}}
ORDER BY version;`,
    opts,
  );
}

/**
 * Creates the database and `schema_migrations` if missing, then applies every migration
 * not yet recorded, in version order, recording each once all its statements succeeded.
 */
export async function migrate(client: ClickHouseClient, opts: MigrateOptions, migrations: readonly Migration[] = loadMigrations()): Promise<MigrateResult> {
  checkOptions(opts);
  for (const stmt of bootstrap(opts)) await client.command({ query: stmt });
  const rs = await client.query({
    query: `SELECT DISTINCT version FROM ${opts.database}.${TABLES.migrations}`,
    format: 'JSONEachRow',
  });
  const done = new Set((await rs.json<{ version: number | string }>()).map((r) => Number(r.version)));
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) {
      alreadyApplied.push(m.name);
      continue;
    }
    for (const stmt of renderMigration(m.sql, opts)) await client.command({ query: stmt });
    await client.command({
      query: `INSERT INTO ${opts.database}.${TABLES.migrations} (version, name, checksum) VALUES (${m.version}, '${m.name}', '${m.checksum}')`,
    });
    applied.push(m.name);
  }
  return { applied, alreadyApplied };
}
