/**
 * Storage handle: a `@clickhouse/client` on a ClickHouse server (`url`) or, in embedded
 * mode, on chDB through `chdb/connection` (one data directory per process: a second
 * process on the same path fails with `Cannot lock file …/status`).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import chdbModule from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import type { ArrowColumn, ColumnarInsert, RawInsert } from './clickhouseSink.ts';

/** Options of {@link createStorage}. */
export interface StorageOptions {
  /** ClickHouse HTTP URL; when absent, embedded chDB at `chdbPath`. */
  readonly url?: string;
  /** chDB data directory (default `.vigie/chdb`). */
  readonly chdbPath?: string;
  /** Database holding Vigie's tables (default `vigie`). */
  readonly database?: string;
  readonly username?: string;
  readonly password?: string;
}

/** An open storage: the client, the database name, and how to close it. */
export interface Storage {
  readonly kind: 'clickhouse' | 'chdb';
  readonly client: ClickHouseClient;
  /**
   * For the pipeline's small reads (stored offsets, last counter points): on chDB a second
   * connection on the same path, since a connection runs one statement at a time and a
   * read would otherwise wait behind another partition's insert. On a server, `client`.
   */
  readonly readClient: ClickHouseClient;
  /** On chDB: its zero-copy insert of a body in bytes (the sink's `series` rows); absent on a server. */
  readonly rawInsert?: RawInsert;
  /**
   * On chDB: insert of typed columns registered zero-copy as an Arrow table, on a
   * connection of its own (the sink's samples path); absent on a server.
   */
  readonly columnarInsert?: ColumnarInsert;
  readonly database: string;
  /** The embedded data directory (absolute), for the read endpoint; absent on a server. */
  readonly chdbPath?: string;
  close(): Promise<void>;
}

/** Default embedded data directory. */
export const DEFAULT_CHDB_PATH = '.vigie/chdb';

/**
 * chdb's Arrow C data registration (exported by its CommonJS entry, not typed): columns
 * become the table function `arrowstream('<name>')` on one connection until unregistered.
 */
interface ChdbArrow {
  readonly Session: new (path: string) => { readonly connection: unknown; queryAsync(sql: string, opts: { format: string }): Promise<unknown>; close(): void };
  _arrowRegisterColumns(connection: unknown, name: string, columns: readonly ArrowColumn[]): void;
  _arrowUnregister(connection: unknown, name: string): void;
}

type ConnectionOption = NonNullable<Parameters<typeof createClient>[0]> extends { connection?: infer C } ? C : never;

/** Opens a ClickHouse server client or an embedded chDB one. Does not create tables: see `migrate`. */
export function createStorage(opts: StorageOptions = {}): Storage {
  const database = opts.database ?? 'vigie';
  if (opts.url) {
    const client = createClient({
      url: opts.url,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      request_timeout: 60_000,
    });
    return { kind: 'clickhouse', client, readClient: client, database, close: () => client.close() };
  }
  const path = resolve(opts.chdbPath ?? DEFAULT_CHDB_PATH);
  mkdirSync(path, { recursive: true });
  // Two copies of client-common's Connection type (ours and chdb's) do not unify.
  const chdb = createChdbConnection({ path });
  const connection = chdb as unknown as ConnectionOption;
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  const rawInsert: RawInsert = (p) => chdb.chdb.rawInsert({ ...p, columns: [...p.columns] });
  const readClient = createClient({ connection: createChdbConnection({ path }) as unknown as ConnectionOption } as Parameters<typeof createClient>[0]);
  const arrow = chdbModule as unknown as ChdbArrow;
  // Opened on the first insert: commands that only read never hold a third connection.
  let insertSession: InstanceType<ChdbArrow['Session']> | undefined;
  let seq = 0;
  let purgedAt = -Infinity;
  const columnarInsert: ColumnarInsert = async (columns, statement) => {
    insertSession ??= new arrow.Session(path);
    // Unique per insert: concurrent inserts (one per partition in flight) queue on this connection.
    const name = `vigie_insert_${++seq}`;
    arrow._arrowRegisterColumns(insertSession.connection, name, columns);
    try {
      await insertSession.queryAsync(statement(`arrowstream('${name}')`), { format: 'CSV' });
    } finally {
      arrow._arrowUnregister(insertSession.connection, name);
    }
    // The engine's allocator keeps what an insert freed (≈ 70–80 MB at 100,000 series,
    // bench:pipeline): hand it back to the system, at most once a second (no measurable
    // CPU cost). Best effort: the rows are stored whatever the purge does.
    const now = performance.now();
    if (now - purgedAt >= 1000) {
      purgedAt = now;
      await insertSession.queryAsync('SYSTEM JEMALLOC PURGE', { format: 'CSV' }).catch(() => undefined);
    }
  };
  return {
    kind: 'chdb',
    client,
    readClient,
    rawInsert,
    columnarInsert,
    database,
    chdbPath: path,
    close: async () => {
      insertSession?.close();
      await readClient.close();
      await client.close();
    },
  };
}
