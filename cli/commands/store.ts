/**
 * `vigie store serve`: one process holds an embedded chDB directory and serves it
 * read-write over ClickHouse's HTTP interface, so several Vigie processes on one machine
 * share one database as they would share a ClickHouse server (`--clickhouse-url`):
 * ingest instances of one consumer group (their exactly-once bookkeeping, `ingest_offsets`,
 * must be shared, or a partition that moves after a crash is stored twice) and an HA pair
 * of rule evaluators. chDB lets one process open a directory, hence this process.
 * Past one machine, the same flags point at a ClickHouse server or cluster instead.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ConfigError, describeError } from '../../core/errors.ts';
import { createStorage } from '../../pipeline/storage.ts';
import { startReadEndpoint } from '../../pipeline/readEndpoint.ts';
import { liveEndpoint, removeEndpointFile, writeEndpointFile } from '../../pipeline/endpointFile.ts';
import { loadMigrations, migrate, renderMigration } from '../../schema/migrate.ts';
import { dataDirOf, DEFAULT_HTTP_PORT, httpPortOption } from '../storage.ts';
import { clickhouseCredentials } from './ingest.ts';

interface StoreServeFlags {
  readonly chdbPath?: string;
  readonly database: string;
  readonly httpHost: string;
  readonly httpPort: number;
}

/** Registers `vigie store` and its `serve` and `ddl` sub-commands. */
export function registerStoreCommand(program: Command): void {
  const store = program.command('store').description('Vigie\'s database: share an embedded one between processes, or print the DDL for a ClickHouse cluster.');
  store
    .command('ddl')
    .description(
      'Print the schema (every migration in order) as SQL, for one server or, with --cluster, ON CLUSTER with Replicated engines and Distributed tables. ' +
        'For review: `vigie ingest` applies the same migrations itself (clickhouse.cluster in --config) and records them in schema_migrations.',
    )
    .option('--database <name>', 'database', 'vigie')
    .option('--cluster <name>', 'cluster name from remote_servers (default: one server)')
    .action((flags: { database: string; cluster?: string }) => {
      const opts = { database: flags.database, ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}) };
      let sql = `CREATE DATABASE IF NOT EXISTS ${flags.database}${flags.cluster !== undefined ? ` ON CLUSTER ${flags.cluster}` : ''};\n`;
      for (const m of loadMigrations()) sql += `\n-- migration ${m.name}\n` + renderMigration(m.sql, opts).map((stmt) => `${stmt};\n`).join('\n');
      process.stdout.write(sql);
    });
  store
    .command('serve')
    .description(
      'Serve an embedded chDB directory read-write over the ClickHouse HTTP interface, so several `vigie ingest` processes ' +
        '(one consumer group) and rule evaluators share it through --clickhouse-url, as they would share a ClickHouse server.',
    )
    .option('--chdb-path <dir>', 'embedded chDB data directory (default .vigie/chdb)')
    .option('--database <name>', 'database created and migrated at start', 'vigie')
    .option('--http-host <host>', 'interface to listen on (no TLS: keep it on loopback or a private network)', '127.0.0.1')
    .option('--http-port <port>', 'port (0 = any free port)', httpPortOption, DEFAULT_HTTP_PORT)
    .addHelpText(
      'after',
      '\nCredentials: VIGIE_CLICKHOUSE_USER (default "default") and VIGIE_CLICKHOUSE_PASSWORD (default: none required);\n' +
        'the clients (vigie ingest --clickhouse-url URL) read the same variables.\n\nExample:\n' +
        '  vigie store serve --chdb-path /var/lib/vigie/chdb --http-port 8123 &\n' +
        '  vigie ingest --clickhouse-url http://127.0.0.1:8123 --group vigie-pipeline --no-rules   # as many as partitions\n' +
        '  vigie ingest --clickhouse-url http://127.0.0.1:8123 --rules-only --group vigie-rules-a --rules pack.yml\n',
    )
    .action(async (flags: StoreServeFlags) => {
      const log = (line: string) => process.stderr.write(line + '\n');
      const dir = dataDirOf(flags);
      const holder = liveEndpoint(dir);
      if (holder) throw new ConfigError(`${dir} is held by vigie ${holder.command} (pid ${holder.pid}, serving ${holder.url}); point --clickhouse-url there, or stop it`);
      if (!existsSync(dir)) log(`vigie store: ${dir} does not exist; creating a new, empty embedded database there`);
      let storage;
      try {
        storage = createStorage({ chdbPath: dir, database: flags.database });
      } catch (err) {
        throw new ConfigError(`cannot open the embedded database at ${dir}: ${describeError(err)} (is another process using it?)`);
      }
      // Migrated here, once, before any client connects: ingest instances started together
      // would otherwise race on the same migrations.
      await migrate(storage.client, { database: flags.database });
      const creds = clickhouseCredentials({});
      const endpoint = await startReadEndpoint({
        chdbPath: dir,
        database: flags.database,
        host: flags.httpHost,
        port: flags.httpPort,
        writable: true,
        ...(creds.username !== undefined ? { username: creds.username } : {}),
        ...(creds.password !== undefined ? { password: creds.password } : {}),
        log,
      }).catch(async (err: unknown) => {
        await storage.close();
        throw new ConfigError(`cannot serve ${dir} on ${flags.httpHost}:${flags.httpPort}: ${describeError(err)}; pass --http-port PORT (0 = any free port)`);
      });
      writeEndpointFile(dir, { url: endpoint.url, command: 'store serve', database: flags.database });
      log(`vigie store: serving ${dir} (database ${flags.database}) read-write at ${endpoint.url}`);
      await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
      removeEndpointFile(dir);
      await endpoint.close();
      await storage.close();
      log('vigie store: stopped');
    });
}
