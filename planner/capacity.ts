/**
 * A campus's own capacity, before any plan: from the `capacity:` section of the config
 * (per faculty pool, its servers, and the shared database pool), else from what the
 * platform itself reported in stored past mornings (`ecampus_capacity_sessions`, the
 * gauge the live rules divide by). A faculty with neither stops the plan with a message
 * that names it: a plan — and the rules reading it — must never compare a campus's load
 * with the simulator's university.
 *
 * Not learned: the peak a faculty held without errors. It is a lower bound of capacity,
 * right only on a morning that came close to the limit, which history does not tell.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { isIdentifier } from '../schema/queries.ts';
import { SAMPLES_1M, TABLES } from '../schema/tables.ts';
import { MODEL } from '../simulator/model.ts';
import type { CapacityModel, FacultyCapacity } from './model.ts';

const facultySchema = z
  .object({
    /** Session slots of the faculty's pool (tested). */
    sessions: z.number().int().positive(),
    /** Requests per second the pool serves; default: sized for `sessions` as the demo's platform is. */
    requestsPerSecond: z.number().positive().optional(),
    /** The pool's servers: how many, or their names (each holds an equal share). Default: one. */
    servers: z.union([z.number().int().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Students browsing outside any exam (sessions held all morning). Default 0. */
    browsingSessions: z.number().min(0).optional(),
  })
  .strict();

/** Schema of the config's `capacity:` section. */
export const capacityConfigSchema = z
  .object({
    faculties: z.record(z.string().regex(/^[\w.-]+$/, 'expected a faculty code (letters, digits, _ . -)'), facultySchema),
    platform: z
      .object({
        /** Connections of the shared database pool. Default: not limited in the plan. */
        dbConnections: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Object.keys(c.faculties).length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['faculties'], message: 'name at least one faculty' });
    const seen = new Map<string, string>();
    for (const [f, spec] of Object.entries(c.faculties)) {
      if (!Array.isArray(spec.servers)) continue;
      for (const s of spec.servers) {
        const other = seen.get(s);
        if (other !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['faculties', f, 'servers'], message: `server "${s}" is already in ${other}'s pool` });
        seen.set(s, f);
      }
    }
  });

/** The validated `capacity:` section. */
export type CapacityConfig = z.infer<typeof capacityConfigSchema>;

/** Validates the `capacity:` section (absent → null); the error names every offending key. */
export function parseCapacityConfig(input: unknown, source = 'configuration'): CapacityConfig | null {
  if (input === undefined || input === null) return null;
  const r = capacityConfigSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${['capacity', ...i.path].join('.')}: ${i.message}`);
    throw new ConfigError(`invalid capacity section of ${source}:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Requests/s a pool sized for `sessions` serves, as the demo's platform is sized (workers at the tested utilization). */
function derivedRequestCapacity(sessions: number): number {
  return (sessions * MODEL.requestRate) / MODEL.testedUtilization;
}

function facultyFromConfig(faculty: string, spec: CapacityConfig['faculties'][string]): FacultyCapacity {
  const servers = Array.isArray(spec.servers) ? spec.servers : Array.from({ length: spec.servers ?? 1 }, (_, i) => `${faculty}-${i + 1}`);
  return {
    faculty,
    sessionCapacity: spec.sessions,
    requestCapacity: spec.requestsPerSecond ?? derivedRequestCapacity(spec.sessions),
    servers,
    backgroundSessions: spec.browsingSessions ?? 0,
  };
}

/** Session capacity per faculty as the platform reported it in stored mornings. */
export interface LearnedCapacity {
  /** Faculty → the last reported session capacity of its pool, and when. */
  readonly faculties: ReadonlyMap<string, { readonly sessions: number; readonly atMs: number }>;
}

/**
 * The platform's own capacity gauge, summed per faculty, at the last stored minute of
 * [fromMs, toMs) where it was reported. Null when the window holds none.
 */
export async function learnCapacity(client: ClickHouseClient, database: string, fromMs: number, toMs: number): Promise<LearnedCapacity | null> {
  if (!isIdentifier(database)) throw new ConfigError(`learnCapacity: database "${database}" is not a ClickHouse identifier`);
  const M = SAMPLES_1M;
  const rs = await client.query({
    query: `SELECT faculty, argMax(cap, minute) AS sessions, toUnixTimestamp(max(minute)) * 1000 AS at_ms
      FROM (SELECT faculty, minute, sum(v) AS cap
            FROM (SELECT ${M.faculty} AS faculty, ${M.minute} AS minute, ${M.fingerprint}, argMaxMerge(${M.last}) AS v
                  FROM ${database}.${TABLES.samples1m}
                  WHERE ${M.metric} = 'ecampus_capacity_sessions' AND ${M.faculty} != ''
                    AND ${M.minute} >= fromUnixTimestamp64Milli({from:Int64}) AND ${M.minute} < fromUnixTimestamp64Milli({to:Int64})
                  GROUP BY faculty, minute, ${M.fingerprint})
            GROUP BY faculty, minute)
      GROUP BY faculty`,
    query_params: { from: Math.trunc(fromMs), to: Math.trunc(toMs) },
    format: 'JSONEachRow',
  });
  const rows = (await rs.json()) as { faculty: string; sessions: number | string; at_ms: number | string }[];
  const faculties = new Map<string, { sessions: number; atMs: number }>();
  for (const r of rows) if (Number(r.sessions) > 0) faculties.set(r.faculty, { sessions: Math.round(Number(r.sessions)), atMs: Number(r.at_ms) });
  return faculties.size ? { faculties } : null;
}

/** A capacity model and, per faculty, where its capacity came from (for the plan's notes). */
export interface ResolvedCapacity {
  readonly model: CapacityModel;
  readonly notes: readonly string[];
}

/**
 * The capacity of every faculty of `faculties`: the config's first, else the learned
 * gauge. Throws a ConfigError naming each faculty that has neither.
 */
export function resolveCapacity(faculties: readonly string[], config: CapacityConfig | null, learned: LearnedCapacity | null): ResolvedCapacity {
  const out = new Map<string, FacultyCapacity>();
  const fromHistory: string[] = [];
  const missing: string[] = [];
  for (const f of [...new Set(faculties)].sort()) {
    const spec = config?.faculties[f];
    if (spec) {
      out.set(f, facultyFromConfig(f, spec));
      continue;
    }
    const l = learned?.faculties.get(f);
    if (l) {
      out.set(f, { faculty: f, sessionCapacity: l.sessions, requestCapacity: derivedRequestCapacity(l.sessions), servers: [f], backgroundSessions: 0 });
      fromHistory.push(`${f} ${l.sessions} (${new Date(l.atMs).toISOString().slice(0, 16)}Z)`);
      continue;
    }
    missing.push(f);
  }
  if (missing.length) {
    throw new ConfigError(
      `no capacity for faculty ${missing.map((f) => `"${f}"`).join(', ')}: give it in the capacity: section of the config (--config), e.g.\n` +
        `  capacity:\n    faculties:\n      ${missing[0]}: { sessions: 900, servers: 2 }\n` +
        `or store a past morning where the platform reports ecampus_capacity_sessions{faculty="${missing[0]}"} (vigie ingest). ` +
        `A plan against somebody else's capacity would mislead the rules that read it.`,
    );
  }
  const notes: string[] = [];
  const configured = [...out.keys()].filter((f) => config?.faculties[f]);
  if (configured.length) notes.push(`capacity from the config for ${configured.join(', ')}`);
  if (fromHistory.length) {
    notes.push(`capacity reported by the platform in stored mornings for ${fromHistory.join(', ')}; its browsing students are not known (0): set capacity.faculties.<code>.browsingSessions`);
  }
  const db = config?.platform?.dbConnections;
  if (db === undefined) notes.push('database pool: not in the config (capacity.platform.dbConnections), so the plan does not limit it');
  return {
    model: { faculties: out, dbPoolMax: db ?? Number.POSITIVE_INFINITY, source: fromHistory.length && !configured.length ? 'history' : 'config' },
    notes,
  };
}
