/**
 * How every command opens Vigie's storage, so they all agree on one default data
 * directory and on who holds it. Writers (`vigie ingest`, `vigie demo`) open the embedded
 * directory, serve it read-only over HTTP and advertise the endpoint in it; readers
 * (`vigie postmortem`, `vigie query`, `rules backtest`) go through that endpoint while a
 * Vigie process holds the directory and open the directory themselves otherwise.
 */
import { existsSync, readdirSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { ConfigError, describeError } from '../core/errors.ts';
import { createStorage, DEFAULT_CHDB_PATH, type Storage } from '../pipeline/storage.ts';
import { liveEndpoint, removeEndpointFile, writeEndpointFile } from '../pipeline/endpointFile.ts';
import { startReadEndpoint, type ReadEndpoint } from '../pipeline/readEndpoint.ts';

/** Where a command's data lives: a ClickHouse server, or an embedded directory. */
export interface StorageFlags {
  readonly clickhouseUrl?: string | undefined;
  readonly chdbPath?: string | undefined;
  readonly database?: string | undefined;
}

/** The embedded data directory every command uses unless told otherwise (absolute). */
export function dataDirOf(flags: Pick<StorageFlags, 'chdbPath'>): string {
  return resolve(flags.chdbPath ?? DEFAULT_CHDB_PATH);
}

/** Default port of the read endpoint: ClickHouse's HTTP port, which Grafana's provisioning points at. */
export const DEFAULT_HTTP_PORT = 8123;

/** Parses `--http-port`: an integer 0..65535 (0 = any free port). */
export function httpPortOption(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--http-port expects 0..65535 (0 = any free port), got "${v}"`);
  return n;
}

/** Options of {@link openWriterStorage}. */
export interface WriterStorageOptions extends StorageFlags {
  /** Who holds the directory (shown to readers). */
  readonly command: string;
  /** ClickHouse server credentials (with `clickhouseUrl`). */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Serve the read endpoint: host and port (0 = any free port); null = do not serve. */
  readonly serve: { readonly host: string; readonly port: number } | null;
  /** When the port is taken, serve on a free one instead of failing (the demo). */
  readonly fallbackToFreePort?: boolean;
  readonly log: (line: string) => void;
}

/** A writer's storage, with its read endpoint (null on a ClickHouse server or when not served). */
export interface WriterStorage {
  readonly storage: Storage;
  readonly endpoint: ReadEndpoint | null;
  close(): Promise<void>;
}

/** Opens the storage a writer owns and, on the embedded engine, serves it read-only. */
export async function openWriterStorage(opts: WriterStorageOptions): Promise<WriterStorage> {
  const database = opts.database ?? 'vigie';
  if (opts.clickhouseUrl) {
    const storage = createStorage({ url: opts.clickhouseUrl, database, ...(opts.username !== undefined ? { username: opts.username } : {}), ...(opts.password !== undefined ? { password: opts.password } : {}) });
    return { storage, endpoint: null, close: () => storage.close() };
  }
  const dir = dataDirOf(opts);
  const holder = liveEndpoint(dir);
  if (holder) {
    throw new ConfigError(`${dir} is held by vigie ${holder.command} (pid ${holder.pid}, serving ${holder.url}); stop it or pass another --chdb-path`);
  }
  let storage: Storage;
  try {
    storage = createStorage({ chdbPath: dir, database });
  } catch (err) {
    throw new ConfigError(`cannot open the embedded database at ${dir}: ${describeError(err)} (is another process using it?)`);
  }
  let endpoint: ReadEndpoint | null = null;
  if (opts.serve) {
    const start = (port: number) => startReadEndpoint({ chdbPath: dir, database, host: opts.serve!.host, port, log: opts.log });
    try {
      endpoint = await start(opts.serve.port);
    } catch (err) {
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!(inUse && opts.fallbackToFreePort)) {
        await storage.close();
        throw new ConfigError(`cannot serve the read endpoint on ${opts.serve.host}:${opts.serve.port}: ${describeError(err)}; pass --http-port PORT (0 = any free port) or --no-http`);
      }
      endpoint = await start(0);
      opts.log(`vigie: port ${opts.serve.port} is taken; the read endpoint serves on ${endpoint.url} instead (Grafana files point there)`);
    }
    writeEndpointFile(dir, { url: endpoint.url, command: opts.command, database });
  }
  return {
    storage,
    endpoint,
    async close() {
      removeEndpointFile(dir);
      await endpoint?.close();
      await storage.close();
    },
  };
}

/** How a reader reached the data (for one line on stderr). */
export interface ReaderStorage {
  readonly storage: Storage;
  /** `endpoint of vigie ingest (pid 123) at http://…`, `embedded …`, or `ClickHouse …`. */
  readonly via: string;
}

/**
 * Opens storage for reading: a server URL as given; else the endpoint of the Vigie
 * process holding the data directory; else the directory itself. Never creates a
 * directory: a missing one is an error that says how to get data.
 */
export function openReaderStorage(flags: StorageFlags, command: string): ReaderStorage {
  const database = flags.database ?? 'vigie';
  if (flags.clickhouseUrl) return { storage: createStorage({ url: flags.clickhouseUrl, database }), via: `ClickHouse ${flags.clickhouseUrl}` };
  const dir = dataDirOf(flags);
  const holder = liveEndpoint(dir);
  if (holder) {
    return {
      storage: { ...createStorage({ url: holder.url, database }), chdbPath: dir },
      via: `the read endpoint of vigie ${holder.command} (pid ${holder.pid}) at ${holder.url}`,
    };
  }
  if (!existsSync(dir) || readdirSync(dir).length === 0) {
    throw new ConfigError(`${command}: no Vigie data at ${dir}: run \`vigie demo\` or \`vigie ingest\` first, or pass --chdb-path DIR (or --clickhouse-url URL)`);
  }
  try {
    return { storage: createStorage({ chdbPath: dir, database }), via: `embedded chDB at ${dir}` };
  } catch (err) {
    throw new ConfigError(`${command}: cannot open ${dir}: ${describeError(err)}; a process without a read endpoint holds it (stop it, or run it with its endpoint on)`);
  }
}

/** Turns "Database vigie does not exist" into a message that says what to do. */
export function explainMissingDatabase(err: unknown, storage: Storage, dir: string | undefined): unknown {
  const msg = describeError(err);
  if (/Database .* does not exist|UNKNOWN_DATABASE/i.test(msg)) {
    return new ConfigError(`database ${storage.database} does not exist${dir ? ` in ${dir}` : ''}: nothing was ingested there yet (run \`vigie demo\` or \`vigie ingest\`, or pass --database / --chdb-path)`);
  }
  return err;
}
