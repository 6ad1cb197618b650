/**
 * The outbox's on-disk journal: JSON lines appended and fsync'd before `append`
 * returns, so a notification is durable before any delivery attempt. Replaying the
 * file rebuilds pending entries and the ids already delivered; compaction rewrites it
 * (temp file, fsync, rename, fsync of the directory) with only what still matters. A
 * torn last line — the process killed mid-write — is skipped on replay.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import type { Notification, OutboxMessage } from '../receivers/types.ts';

/** One notification waiting for (or in) delivery. */
export interface OutboxEntry {
  /** Idempotency key, derived from (receiver, alert fingerprint, status, startsAt[, endsAt]). */
  readonly id: string;
  readonly receiver: string;
  /** Entries sharing a key are delivered in order, one at a time. */
  readonly key: string;
  readonly message: OutboxMessage;
  readonly createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
}

/** How an entry left the outbox. */
export type Outcome = 'delivered' | 'undeliverable' | 'rejected';

/** Journal records, one per line. */
export type JournalRecord =
  | ({ readonly t: 'enq' } & Omit<OutboxEntry, 'lastError'> & { readonly lastError?: string })
  | { readonly t: 'att'; readonly id: string; readonly attempts: number; readonly nextAttemptAt: number; readonly error: string }
  | { readonly t: 'done'; readonly id: string; readonly at: number; readonly outcome: Outcome };

/** What replaying the journal yields. */
export interface JournalState {
  readonly pending: Map<string, OutboxEntry>;
  /** id → time and outcome of completion. */
  readonly done: Map<string, { at: number; outcome: Outcome }>;
  /** Lines that could not be read (a torn last line after a crash). */
  readonly skippedLines: number;
}

/** The journal file of one outbox directory. */
export interface Journal {
  readonly path: string;
  /** Replays the file. */
  load(): JournalState;
  /** Appends records and fsyncs. */
  append(records: readonly JournalRecord[]): void;
  /** Rewrites the file with these pending entries and done ids. */
  compact(pending: Iterable<OutboxEntry>, done: ReadonlyMap<string, { at: number; outcome: Outcome }>): void;
  close(): void;
}

// JSON has no NaN: alert values that are NaN are written as null and read back as NaN.
function reviveMessage(m: OutboxMessage): OutboxMessage {
  return { ...m, alerts: m.alerts.map((a: Notification) => (typeof a.value === 'number' ? a : { ...a, value: NaN })) };
}

function line(r: JournalRecord): string {
  return JSON.stringify(r) + '\n';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process killed with -9 whose parent died too can linger as a zombie (state Z)
  // where nothing reaps orphans (containers without an init): it still answers
  // signal 0, but it holds nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust signal 0
  }
}

/**
 * One process per journal: `outbox.lock` holds the owner's pid. A lock left by a dead
 * process (kill -9) is taken over; one held by a live other process is an error.
 */
function lockDir(dir: string): string {
  const lock = join(dir, 'outbox.lock');
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return lock;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const owner = Number(readFileSync(lock, 'utf8').trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
    throw new ConfigError(`outbox journal ${dir} is in use by process ${owner}; give each pager its own journal directory (or stop the other process)`);
  }
  writeFileSync(lock, String(process.pid));
  return lock;
}

/** Opens (creating) `dir/outbox.jsonl`, taking the directory's lock. */
export function openJournal(dir: string): Journal {
  mkdirSync(dir, { recursive: true });
  const lock = lockDir(dir);
  const path = join(dir, 'outbox.jsonl');
  let fd = openSync(path, 'a');

  const fsyncDir = () => {
    try {
      const d = openSync(dir, 'r');
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    } catch {
      // Some file systems refuse fsync on directories; the rename is still atomic.
    }
  };

  return {
    path,
    load() {
      const pending = new Map<string, OutboxEntry>();
      const done = new Map<string, { at: number; outcome: Outcome }>();
      let skippedLines = 0;
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      for (const raw of text.split('\n')) {
        if (raw.trim() === '') continue;
        let r: JournalRecord;
        try {
          r = JSON.parse(raw) as JournalRecord;
        } catch {
          skippedLines++;
          continue;
        }
        if (r.t === 'enq') {
          if (done.has(r.id)) continue;
          const { t: _t, ...entry } = r;
          pending.set(r.id, { ...entry, message: reviveMessage(entry.message) });
        } else if (r.t === 'att') {
          const e = pending.get(r.id);
          if (e) {
            e.attempts = r.attempts;
            e.nextAttemptAt = r.nextAttemptAt;
            e.lastError = r.error;
          }
        } else if (r.t === 'done') {
          pending.delete(r.id);
          done.set(r.id, { at: r.at, outcome: r.outcome });
        }
      }
      return { pending, done, skippedLines };
    },
    append(records) {
      if (records.length === 0) return;
      writeSync(fd, records.map(line).join(''));
      fsyncSync(fd);
    },
    compact(pending, done) {
      const tmp = `${path}.compact`;
      const out = openSync(tmp, 'w');
      try {
        let chunk = '';
        for (const [id, d] of done) chunk += line({ t: 'done', id, at: d.at, outcome: d.outcome });
        for (const e of pending) {
          const { lastError, ...rest } = e;
          chunk += line({ t: 'enq', ...rest, ...(lastError !== undefined ? { lastError } : {}) });
        }
        writeSync(out, chunk);
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      closeSync(fd);
      renameSync(tmp, path);
      fsyncDir();
      fd = openSync(path, 'a');
    },
    close() {
      closeSync(fd);
      rmSync(lock, { force: true });
    },
  };
}
