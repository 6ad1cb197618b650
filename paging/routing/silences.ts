/**
 * Silences and maintenance windows: a JSON file (default `.vigie/silences.json`) that
 * `vigie silence add|list|expire` edits and the pager reads (re-read when it changes).
 * A maintenance window is a silence whose `startsAt` lies in the future. Writes are
 * atomic (temp file + rename) so the pager never reads half a file.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import type { Labels } from '../../core/samples.ts';
import { matchAll, parseMatcher, type Matcher } from './matchers.ts';

/** One silence as stored. Times are ISO-8601 strings so people can read and edit the file. */
export interface Silence {
  readonly id: string;
  /** Matcher strings (`faculty=law`, `exam=~"math-.*"`). */
  readonly matchers: readonly string[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: string;
}

const isoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'expected an ISO-8601 time');
const silenceSchema = z
  .object({
    id: z.string().min(1),
    matchers: z
      .array(z.string())
      .min(1)
      .superRefine((ms, ctx) => {
        for (const m of ms) {
          try {
            parseMatcher(m);
          } catch (e) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
          }
        }
      }),
    startsAt: isoTime,
    endsAt: isoTime,
    createdBy: z.string(),
    comment: z.string(),
    createdAt: isoTime,
  })
  .strict();
const fileSchema = z.object({ version: z.literal(1), silences: z.array(silenceSchema) }).strict();

/** State of a silence at `now`. */
export function silenceState(s: Silence, now: number): 'pending' | 'active' | 'expired' {
  if (now >= Date.parse(s.endsAt)) return 'expired';
  return now < Date.parse(s.startsAt) ? 'pending' : 'active';
}

/** Reads the silences file; a missing file is an empty list; a malformed one is a ConfigError naming the key. */
export function readSilences(path: string): Silence[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`cannot read silences file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`silences file ${path} is not valid JSON: ${(e as Error).message}; fix or remove it`, { cause: e });
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid silences file ${path}:\n${lines.join('\n')}`);
  }
  return r.data.silences;
}

/** Writes the silences file atomically. */
export function writeSilences(path: string, silences: readonly Silence[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, silences }, null, 2) + '\n');
  renameSync(tmp, path);
}

/** What `vigie silence add` needs. */
export interface NewSilence {
  readonly matchers: readonly string[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

/** Validates and appends a silence; returns it. Expired silences older than a week are pruned. */
export function addSilence(path: string, s: NewSilence, now: number, newId: () => string = randomUUID): Silence {
  if (s.matchers.length === 0) throw new ConfigError('a silence needs at least one matcher, e.g. faculty=law');
  for (const m of s.matchers) {
    try {
      parseMatcher(m);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
  }
  if (!(s.endsAt > s.startsAt)) throw new ConfigError('the silence must end after it starts (check --for / --end / --start)');
  if (s.endsAt <= now) throw new ConfigError('the silence would already be over (check --end)');
  const silence: Silence = {
    id: newId(),
    matchers: [...s.matchers],
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: new Date(now).toISOString(),
  };
  const keep = readSilences(path).filter((x) => now - Date.parse(x.endsAt) < 7 * 24 * 3600_000);
  writeSilences(path, [...keep, silence]);
  return silence;
}

/** Ends a silence now (id or unique id prefix); returns it, or throws a ConfigError saying why not. */
export function expireSilence(path: string, idOrPrefix: string, now: number): Silence {
  const all = readSilences(path);
  const hits = all.filter((s) => s.id === idOrPrefix || s.id.startsWith(idOrPrefix));
  if (hits.length === 0) throw new ConfigError(`no silence with id ${idOrPrefix} in ${path} (see vigie silence list)`);
  if (hits.length > 1) throw new ConfigError(`id prefix ${idOrPrefix} matches ${hits.length} silences; give more characters`);
  const hit = hits[0]!;
  if (silenceState(hit, now) === 'expired') throw new ConfigError(`silence ${hit.id} has already expired`);
  const ended: Silence = { ...hit, endsAt: new Date(Math.max(now, Date.parse(hit.startsAt))).toISOString() };
  writeSilences(
    path,
    all.map((s) => (s.id === hit.id ? ended : s)),
  );
  return ended;
}

/** Answers "which active silence mutes these labels?", re-reading the file when it changes. */
export interface SilenceIndex {
  silencedBy(labels: Labels, now: number): Silence | undefined;
  /** Last read error (the previous good set stays in force). */
  lastError(): string | undefined;
}

/** Creates a {@link SilenceIndex} over a silences file. */
export function createSilenceIndex(path: string): SilenceIndex {
  // The file is replaced by rename on every write, so (inode, mtime, size) changes with it.
  let stamp = '';
  let compiled: { s: Silence; ms: Matcher[]; from: number; to: number }[] = [];
  let error: string | undefined;
  const refresh = () => {
    let now: string;
    try {
      const st = statSync(path);
      now = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      now = 'absent';
    }
    if (now === stamp) return;
    stamp = now;
    try {
      compiled = readSilences(path).map((s) => ({ s, ms: s.matchers.map(parseMatcher), from: Date.parse(s.startsAt), to: Date.parse(s.endsAt) }));
      error = undefined;
    } catch (e) {
      error = (e as Error).message;
    }
  };
  return {
    silencedBy(labels, now) {
      refresh();
      for (const c of compiled) if (now >= c.from && now < c.to && matchAll(c.ms, labels)) return c.s;
      return undefined;
    },
    lastError: () => error,
  };
}
