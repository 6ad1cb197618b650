/**
 * The access-log source: tails each configured log, parses and aggregates its lines,
 * and persists file positions together with the cumulative aggregates in one state
 * file (written to a temporary file, fsynced, renamed). Because counts and positions
 * are saved as one, a `kill -9` at any point loses nothing and counts nothing twice:
 * lines after the saved position were not in the saved counts and are read again, and
 * the series continue from the saved start time (no counter reset). The state is saved
 * when a snapshot is taken, just before it is exported, so what was exported is always
 * what was saved (a restart re-reads at most one export interval of lines).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import type { PointBatch } from '../pointBatch.ts';
import { AccessLogAggregator, emptyAggregatorState, type AggregatorState, type RouteTable, type SessionOptions } from './accessLogAggregator.ts';
import { FileTailer, type FilePosition } from './fileTailer.ts';
import { compileLogFormat, type LogFormat } from './logFormat.ts';

/** One log to follow. */
export interface AccessLogFile {
  readonly path: string;
  /** Preset name or nginx `log_format` string. */
  readonly format: string;
  /** Where logrotate puts the previous file; default `<path>.1`. */
  readonly rotatedPaths?: readonly string[];
}

/** Options of {@link createAccessLogSource}. */
export interface AccessLogSourceOptions {
  readonly files: readonly AccessLogFile[];
  readonly routes: RouteTable;
  readonly sessions: SessionOptions;
  /** The state file (positions + aggregates). */
  readonly statePath: string;
  /** Resource of the batches (`service.name`, `host.name`, …). */
  readonly resource: Readonly<Record<string, string>>;
  /** Tested session capacity per faculty (`ecampus.capacity.sessions`), optional. */
  readonly capacity?: Readonly<Record<string, number>>;
  readonly clock?: () => number;
  readonly log?: (line: string) => void;
}

/** A running access-log source. */
export interface AccessLogSource {
  /** Reads new lines of every file into the aggregates; returns lines read. */
  poll(): number;
  /** Saves positions and aggregates, then returns them as one cumulative point batch. */
  snapshot(): PointBatch;
  /** Lines parsed and refused since start time (persisted). */
  counts(): Readonly<Record<string, number>>;
  close(): void;
}

interface StateFile {
  readonly version: 1;
  readonly startMs: number;
  readonly positions: Record<string, FilePosition | null>;
  readonly aggregates: AggregatorState;
  readonly seen: string[];
}

function loadState(path: string): StateFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read access-log state ${path}: ${(err as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as StateFile;
    if (s.version !== 1 || typeof s.startMs !== 'number') throw new Error('unknown version');
    return s;
  } catch (err) {
    throw new ConfigError(`access-log state ${path} is not a Vigie state file (${(err as Error).message}); move it away to start over (lines would be counted again)`);
  }
}

/** Writes `text` to `path` atomically: temporary file, fsync, rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Builds the source, resuming from the state file when there is one. */
export function createAccessLogSource(opts: AccessLogSourceOptions): AccessLogSource {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? (() => undefined);
  mkdirSync(dirname(opts.statePath), { recursive: true });
  const prev = loadState(opts.statePath);
  const startMs = prev?.startMs ?? clock();
  const agg = new AccessLogAggregator(opts.routes, opts.sessions, prev?.aggregates ?? emptyAggregatorState());
  const seen = new Set(prev?.seen ?? []);
  const files = opts.files.map((f) => ({
    format: compileLogFormat(f.format) as LogFormat,
    tailer: new FileTailer(f.path, {
      ...(f.rotatedPaths ? { rotatedPaths: f.rotatedPaths } : {}),
      position: prev?.positions[f.path] ?? null,
      onEvent: (kind, detail) => log(`[accesslog] ${kind}: ${detail}`),
    }),
  }));
  let unparsedLogged = 0;
  if (prev) log(`[accesslog] resumed from ${opts.statePath}: ${JSON.stringify(prev.aggregates.lines)} lines counted since ${new Date(startMs).toISOString()}`);

  const save = () => {
    const positions: Record<string, FilePosition | null> = {};
    for (const f of files) positions[f.tailer.path] = f.tailer.position();
    const state: StateFile = { version: 1, startMs, positions, aggregates: agg.state, seen: [...seen] };
    writeFileAtomic(opts.statePath, JSON.stringify(state));
  };

  return {
    poll(): number {
      const now = clock();
      let n = 0;
      for (const f of files) {
        n += f.tailer.poll((line) => {
          if (line === '') return;
          const r = f.format.parse(line);
          if (r === null) {
            agg.unparsed();
            if (unparsedLogged++ < 10) log(`[accesslog] ${f.tailer.path}: line does not match the format, counted as unparsed: ${line.slice(0, 200)}`);
            return;
          }
          agg.add(r, now);
        });
      }
      return n;
    },
    snapshot(): PointBatch {
      save();
      const now = clock();
      const server = opts.resource['host.name'] ?? '';
      const metrics = agg.metrics(now, server, seen);
      if (opts.capacity) {
        metrics.push({
          kind: 'gauge',
          name: 'ecampus.capacity.sessions',
          description: 'Tested session capacity (configured)',
          points: Object.entries(opts.capacity).map(([faculty, value]) => ({ attributes: { faculty, server }, value })),
        });
      }
      return { resource: opts.resource, scope: 'vigie.collectors.accesslog', timeMs: now, startMs, metrics };
    },
    counts: () => ({ ...agg.state.lines }),
    close(): void {
      for (const f of files) f.tailer.close();
    },
  };
}
