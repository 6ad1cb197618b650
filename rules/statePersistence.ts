/**
 * Alert state that survives a restart: a snapshot of every pending, firing and recently
 * resolved alert instance (activeAt, firedAt, keep_firing_for progress, labels,
 * annotations) written to one JSON file atomically — temp file, fsync, rename, fsync of
 * the directory — after each evaluation that changed state. Restored with
 * `createRuleEngine({ initialState })`, a restarted evaluator neither re-pages (firing
 * alerts stay firing without a new firing transition) nor forgets pending progress
 * (a pending alert fires at its original activeAt + for). Like Prometheus' restore of
 * `for` state, a snapshot older than `maxAgeMs` (default 1 h, Prometheus' outage
 * tolerance) is ignored: the world has moved on.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import type { Labels } from '../core/samples.ts';
import type { AlertState } from './alertState.ts';

/** One persisted alert instance. */
export interface PersistedAlert {
  readonly group: string;
  readonly rule: string;
  /** Occurrence of this rule name within its group (0 for the first), to tell same-named rules apart. */
  readonly occurrence: number;
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly state: Exclude<AlertState, { kind: 'inactive' }>;
}

/** Everything the engine needs to resume. */
export interface EngineStateSnapshot {
  readonly version: 1;
  /** Evaluation time of the evaluation that produced the snapshot (epoch ms). */
  readonly savedAt: number;
  readonly alerts: readonly PersistedAlert[];
}

/** A state file that exists but cannot be used; the message says which and why. */
export class StateFileError extends ConfigError {}

// JSON has no NaN/±Inf; alert values often are (e.g. time to threshold = +Inf).
const num = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf'])]).transform((v) => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity));
const labels = z.record(z.string(), z.string());
const stateSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pending'), activeAt: z.number(), value: num, labels }),
  z.object({
    kind: z.literal('firing'),
    activeAt: z.number(),
    firedAt: z.number(),
    value: num,
    labels,
    lastSeenActiveAt: z.number(),
    keepFiringSince: z.number().optional(),
  }),
  z.object({ kind: z.literal('resolved'), activeAt: z.number(), firedAt: z.number(), resolvedAt: z.number(), value: num, labels }),
]);
const snapshotSchema = z.object({
  version: z.literal(1),
  savedAt: z.number(),
  alerts: z.array(
    z.object({
      group: z.string(),
      rule: z.string(),
      occurrence: z.number().int().nonnegative(),
      fingerprint: z.string(),
      labels,
      annotations: labels,
      state: stateSchema,
    }),
  ),
});

/** Serializes a snapshot (non-finite numbers as "NaN" / "+Inf" / "-Inf"). */
export function encodeSnapshot(s: EngineStateSnapshot): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf') : v));
}

/** Parses and validates snapshot text; throws {@link StateFileError} naming `where` and the reason. */
export function decodeSnapshot(text: string, where = '<state>'): EngineStateSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(`${where}: alert state file is not valid JSON (${(e as Error).message}); delete it to start with no alert state`, { cause: e });
  }
  const r = snapshotSchema.safeParse(raw);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new StateFileError(`${where}: alert state file does not match the expected format (${why}); delete it to start with no alert state`);
  }
  return r.data as EngineStateSnapshot;
}

/** Writes `snapshot` to `path` atomically: a reader sees the old file or the new one, never a torn one. */
export function writeStateFile(path: string, snapshot: EngineStateSnapshot): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, encodeSnapshot(snapshot));
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  // Persist the rename itself (the directory entry).
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* some platforms cannot fsync a directory; the rename is still atomic */
  }
}

/** Options of {@link readStateFile}. */
export interface ReadStateOptions {
  /** Current time; with it, snapshots older than `maxAgeMs` are ignored (undefined returned). */
  readonly nowMs?: number;
  /** Default 1 h. */
  readonly maxAgeMs?: number;
}

/** Reads a state file: undefined when missing (or too old); throws {@link StateFileError} when unusable. */
export function readStateFile(path: string, opts: ReadStateOptions = {}): EngineStateSnapshot | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`${path}: cannot read alert state file: ${(e as Error).message}`, { cause: e });
  }
  const s = decodeSnapshot(text, path);
  if (opts.nowMs !== undefined && opts.nowMs - s.savedAt > (opts.maxAgeMs ?? 3_600_000)) return undefined;
  return s;
}

/** What the persister needs from the engine. */
export interface SnapshotSource {
  snapshot(): EngineStateSnapshot;
}

/** Saves the engine state after evaluations that changed it. */
export interface StatePersister {
  /** Call after each `engine.evaluate`; writes when `result.stateChanged`. Returns whether it wrote. */
  afterEvaluation(result: { readonly stateChanged: boolean }): boolean;
  /** Writes now, whatever changed. */
  flush(): void;
  /** Last write error (the evaluation loop goes on; see engine health). */
  lastError(): string | undefined;
}

/** Creates a persister writing `engine`'s snapshot to `path`. Write failures are recorded, not thrown. */
export function createStatePersister(opts: { readonly path: string; readonly engine: SnapshotSource }): StatePersister {
  let lastError: string | undefined;
  const write = (): boolean => {
    try {
      writeStateFile(opts.path, opts.engine.snapshot());
      lastError = undefined;
      return true;
    } catch (e) {
      lastError = `cannot write alert state to ${opts.path}: ${(e as Error).message}`;
      return false;
    }
  };
  return {
    afterEvaluation: (r) => (r.stateChanged ? write() : false),
    flush: () => {
      write();
    },
    lastError: () => lastError,
  };
}
