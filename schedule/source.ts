/**
 * A live timetable: loads it from a file or an HTTP URL, watches it (file: `fs.watch` on
 * its directory plus an mtime-independent content check every `pollMs`, so editors that
 * replace the file are seen too; URL: a poll with `If-None-Match` / `If-Modified-Since`,
 * 304 → unchanged), validates each new version whole, and hands accepted versions to the
 * store and to subscribers. A bad version is logged with all its errors and the previous
 * one stays in force; a source that cannot be reached keeps the previous version too.
 * Scheduling (timers, the watcher) stays here; parsing is `parseTimetable`.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError, UnavailableError, describeError } from '../core/errors.ts';
import type { ScheduledExam } from './exam.ts';
import { parseTimetable } from './parse.ts';
import { writeSchedule } from './storage.ts';
import { formatOfContentType, TimetableError, type Timetable, type TimetableFormat } from './timetable.ts';

/** Where the timetable lives. */
export type ScheduleSourceSpec =
  | { readonly file: string; readonly pollMs?: number; readonly format?: TimetableFormat }
  | { readonly url: string; readonly pollMs: number; readonly headers?: Readonly<Record<string, string>>; readonly format?: TimetableFormat };

/** Collaborators of a source (seams for tests and the composition root). */
export interface ScheduleSourceDeps {
  /** Where accepted versions are written (`exam_schedule`); omit to keep them in memory only. */
  readonly store?: { readonly client: ClickHouseClient; readonly database: string };
  /** Lines for people (accepted versions, rejected versions with every error). Default: stderr. */
  readonly log?: (line: string) => void;
  /** HTTP client (default the global fetch). */
  readonly fetch?: typeof fetch;
}

/** Outcome of one look at the source. */
export type ScheduleCheck =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'accepted'; readonly timetable: Timetable }
  | { readonly kind: 'rejected'; readonly error: TimetableError }
  | { readonly kind: 'unreachable'; readonly error: Error };

/** Counters and last error, for self-monitoring and `status` output. */
export interface ScheduleSourceStatus {
  readonly accepted: number;
  readonly rejected: number;
  readonly unreachable: number;
  readonly lastError?: string;
  /** A version was accepted but its write to `exam_schedule` failed; retried on the next check. */
  readonly storePending: boolean;
}

/** A running timetable source. */
export interface ScheduleSource {
  /** Loads the first version (throws when it is unreadable or invalid), then starts watching. */
  start(): Promise<Timetable>;
  /** Exams of the version in force (empty before `start`). */
  current(): readonly ScheduledExam[];
  /** Called with each accepted version after the first; returns an unsubscribe function. */
  onChange(fn: (exams: readonly ScheduledExam[], timetable: Timetable) => void): () => void;
  /** Looks at the source now (the watcher and the poll call this too). */
  check(): Promise<ScheduleCheck>;
  status(): ScheduleSourceStatus;
  /** Stops watching; waits for a check in progress. */
  stop(): Promise<void>;
}

/** Default check interval of a file source (cheap: one read and a hash). */
const DEFAULT_FILE_POLL_MS = 5_000;

/** Creates a source (nothing happens until `start`). */
export function createScheduleSource(spec: ScheduleSourceSpec, deps: ScheduleSourceDeps = {}): ScheduleSource {
  const isFile = 'file' in spec;
  const name = isFile ? spec.file : spec.url;
  const pollMs = spec.pollMs ?? DEFAULT_FILE_POLL_MS;
  if (!(pollMs >= 10)) throw new ConfigError(`schedule source ${name}: pollMs must be at least 10, got ${pollMs}`);
  if (!isFile && !/^https?:\/\//i.test(spec.url)) throw new ConfigError(`schedule source: url must be http(s)://…, got "${spec.url}"`);
  const log = deps.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const doFetch = deps.fetch ?? fetch;

  let exams: readonly ScheduledExam[] = [];
  let lastHash: string | undefined;
  let etag: string | undefined;
  let lastModified: string | undefined;
  /** A version accepted but not yet stored (its write failed): retried on the next check. */
  let pendingWrite: { exams: readonly ScheduledExam[]; removed: readonly ScheduledExam[] } | null = null;
  const counts = { accepted: 0, rejected: 0, unreachable: 0 };
  let lastError: string | undefined;
  const subscribers = new Set<(exams: readonly ScheduledExam[], t: Timetable) => void>();
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let running = false;
  let chain: Promise<unknown> = Promise.resolve();

  /** The bytes of the current version, or null when unchanged (304). */
  async function fetchText(): Promise<{ text: string; format?: TimetableFormat } | null> {
    if (isFile) return { text: await readFile(spec.file, 'utf8') };
    const headers: Record<string, string> = { ...spec.headers };
    if (etag) headers['If-None-Match'] = etag;
    if (lastModified) headers['If-Modified-Since'] = lastModified;
    const res = await doFetch(spec.url, { headers, signal: AbortSignal.timeout(Math.max(1_000, Math.min(spec.pollMs, 30_000))) });
    if (res.status === 304) return null;
    if (!res.ok) throw new UnavailableError(`HTTP ${res.status} ${res.statusText}`.trim());
    etag = res.headers.get('etag') ?? undefined;
    lastModified = res.headers.get('last-modified') ?? undefined;
    const f = formatOfContentType(res.headers.get('content-type'));
    return { text: await res.text(), ...(f ? { format: f } : {}) };
  }

  async function writeStore(next: readonly ScheduledExam[], previous: readonly ScheduledExam[]): Promise<void> {
    if (!deps.store) return;
    try {
      await writeSchedule(deps.store.client, deps.store.database, next, { removed: previous });
      pendingWrite = null;
    } catch (err) {
      // Tombstones still due from an earlier failed write are kept with the new ones.
      pendingWrite = { exams: next, removed: previous };
      lastError = `writing ${name} to exam_schedule: ${describeError(err)}`;
      log(`vigie schedule: ${lastError} (retried on the next check)`);
    }
  }

  async function checkOnce(first: boolean): Promise<ScheduleCheck> {
    if (pendingWrite) await writeStore(pendingWrite.exams, pendingWrite.removed);
    let got: Awaited<ReturnType<typeof fetchText>>;
    try {
      got = await fetchText();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      counts.unreachable++;
      lastError = `${name} unreachable: ${describeError(e)}`;
      if (!first) log(`vigie schedule: ${lastError}; keeping the version in force (${exams.length} exams)`);
      return { kind: 'unreachable', error: e };
    }
    if (got === null) return { kind: 'unchanged' };
    const hash = createHash('sha256').update(got.text).digest('hex');
    if (hash === lastHash) return { kind: 'unchanged' };
    lastHash = hash;
    let timetable: Timetable;
    try {
      const format = spec.format ?? got.format;
      timetable = parseTimetable(got.text, { source: name, ...(format ? { format } : {}) });
    } catch (err) {
      if (!(err instanceof TimetableError)) throw err;
      counts.rejected++;
      lastError = err.message;
      if (!first) log(`vigie schedule: new version of ${err.message}\nvigie schedule: keeping the version in force (${exams.length} exams)`);
      return { kind: 'rejected', error: err };
    }
    // When the previous version never reached the store, its own predecessor's rows are still there.
    const previous = pendingWrite ? [...pendingWrite.removed, ...exams] : exams;
    exams = timetable.exams;
    counts.accepted++;
    await writeStore(exams, previous);
    if (!first) {
      log(`vigie schedule: ${name}: new version accepted (${exams.length} exams${timetable.notes.length ? `; ${timetable.notes.join('; ')}` : ''})`);
      for (const fn of subscribers) {
        try {
          fn(exams, timetable);
        } catch (err) {
          log(`vigie schedule: a subscriber failed on the new version of ${name}: ${describeError(err)}`);
        }
      }
    }
    return { kind: 'accepted', timetable };
  }

  function check(): Promise<ScheduleCheck> {
    // One look at a time: a watcher event during a poll waits for it, then looks again.
    const next = chain.then(() => checkOnce(false));
    chain = next.catch(() => undefined);
    return next;
  }

  function schedulePoll(): void {
    if (!running) return;
    timer = setTimeout(() => {
      check()
        .catch((err) => log(`vigie schedule: check of ${name} failed: ${describeError(err)}`))
        .finally(schedulePoll);
    }, pollMs);
    timer.unref?.();
  }

  return {
    async start() {
      if (running) throw new ConfigError(`schedule source ${name} is already started`);
      const r = await checkOnce(true);
      if (r.kind === 'rejected') throw r.error;
      if (r.kind === 'unreachable') throw new UnavailableError(`cannot load the timetable ${name}: ${describeError(r.error)}`, { cause: r.error });
      if (r.kind !== 'accepted') throw new UnavailableError(`cannot load the timetable ${name}: the server answered 304 to the first request`);
      running = true;
      if (isFile) {
        const path = resolve(spec.file);
        try {
          // The directory, not the file: an editor's save replaces the file (a new inode).
          watcher = watch(dirname(path), (_event, changed) => {
            if (changed !== null && changed !== basename(path)) return;
            clearTimeout(debounce);
            debounce = setTimeout(() => void check().catch((err) => log(`vigie schedule: check of ${name} failed: ${describeError(err)}`)), 50);
          });
          watcher.on('error', () => undefined);
          watcher.unref();
        } catch {
          // No watcher on this file system: the poll still sees changes.
        }
      }
      schedulePoll();
      return r.timetable;
    },
    current: () => exams,
    onChange(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
    check,
    status: () => ({ ...counts, storePending: pendingWrite !== null, ...(lastError !== undefined ? { lastError } : {}) }),
    async stop() {
      running = false;
      clearTimeout(timer);
      clearTimeout(debounce);
      watcher?.close();
      await chain;
    },
  };
}

/** The `schedule:` config section, as `core/config.ts` validates it (exactly one of file/url). */
export interface ScheduleConfigSection {
  readonly file?: string;
  readonly url?: string;
  readonly format?: TimetableFormat;
  readonly pollSeconds: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The source spec a validated `schedule:` section describes. */
export function scheduleSourceSpecOf(c: ScheduleConfigSection): ScheduleSourceSpec {
  const pollMs = c.pollSeconds * 1000;
  const format = c.format ? { format: c.format } : {};
  if (c.file !== undefined) return { file: c.file, pollMs, ...format };
  if (c.url !== undefined) return { url: c.url, pollMs, ...(c.headers ? { headers: c.headers } : {}), ...format };
  throw new ConfigError('schedule: give exactly one of schedule.file or schedule.url');
}
