/**
 * Guard of scaled-out ingest: the exactly-once bookkeeping (each partition's stored
 * high-water mark) lives in the database, so every instance of a consumer group must
 * write one database. An instance on its own embedded chDB directory that finds other
 * members in its group says so, once per episode: a partition that moves to another
 * member after a crash would be stored a second time, in the other member's database.
 */

/** Options of {@link startEmbeddedGroupGuard}. */
export interface EmbeddedGroupGuardOptions {
  readonly group: string;
  /** The embedded data directory this instance writes. */
  readonly chdbPath: string;
  /** Members of the group now (the transport's admin read). */
  readonly members: () => Promise<number>;
  readonly log: (line: string) => void;
  /** Poll interval (default 30 s). */
  readonly intervalMs?: number;
  /** Delay of the first check, once the group has settled after this instance joined (default 10 s). */
  readonly firstCheckMs?: number;
}

/** A running guard. */
export interface EmbeddedGroupGuard {
  /** One check now (the timer calls it too); resolves with the member count seen, or null when unreadable. */
  check(): Promise<number | null>;
  stop(): void;
}

/** Starts polling the group's size; logs when an embedded instance shares its group. */
export function startEmbeddedGroupGuard(opts: EmbeddedGroupGuardOptions): EmbeddedGroupGuard {
  let warned = false;
  const check = async (): Promise<number | null> => {
    let n: number;
    try {
      n = await opts.members();
    } catch {
      return null; // broker trouble is reported by the transport's own lines
    }
    if (n > 1 && !warned) {
      warned = true;
      opts.log(
        `vigie ingest: WARNING: group ${opts.group} has ${n} members, but this instance stores into its own embedded database (${opts.chdbPath}); ` +
          'exactly-once needs one database for the whole group (a partition that moves after a crash would be stored again elsewhere): ' +
          'point every instance at one ClickHouse (--clickhouse-url), e.g. `vigie store serve` on one machine',
      );
    } else if (n <= 1) {
      warned = false;
    }
    return n;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const every = () => {
    timer = setTimeout(() => void check().finally(() => timer !== undefined && every()), opts.intervalMs ?? 30_000);
    timer.unref();
  };
  timer = setTimeout(() => void check().finally(() => timer !== undefined && every()), opts.firstCheckMs ?? 10_000);
  timer.unref();
  return {
    check,
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
