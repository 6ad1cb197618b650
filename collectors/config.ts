/**
 * The `collectors:` section of Vigie's config file, validated by this stage (core keeps
 * it as an opaque record so it does not depend on a stage). Every key is honoured or
 * rejected by name; regular expressions are compiled here so a bad pattern stops the
 * process at start-up, naming the route.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { PRODUCER_COMPRESSIONS } from '../transport/index.ts';
import type { RouteTable } from './accessLog/accessLogAggregator.ts';

const url = z.string().url();

/** Schema of `collectors:`. */
export const collectorsConfigSchema = z
  .object({
    /** `service.name` of what this collector observes. */
    service: z.string().min(1).default('ecampus'),
    /** `host.name` (also the `server` attribute); default this machine's name. */
    host: z.string().min(1).default(hostname()),
    intervalSeconds: z.number().min(0.2).max(3600).default(15),
    /** Where the access-log positions and counts are kept. */
    stateDir: z.string().min(1).default('.vigie/collect'),
    producer: z
      .object({
        bufferMb: z.number().positive().default(64),
        spoolDir: z.string().min(1).optional(),
        spoolMb: z.number().positive().default(1024),
        /** Kafka record-batch compression: OTLP protobuf with repeated attribute strings shrinks several-fold. */
        compression: z.enum(PRODUCER_COMPRESSIONS).default('gzip'),
      })
      .strict()
      .default({}),
    /** /proc signals (listen queues, TCP states, CPU, memory, fds). */
    hostMetrics: z.boolean().default(true),
    /** Listening ports whose accept queue is reported; default all. */
    listenPorts: z.array(z.number().int().min(1).max(65535)).optional(),
    /** Tested session capacity per faculty → `ecampus.capacity.sessions`. */
    capacity: z.record(z.number().nonnegative()).optional(),
    accessLogs: z
      .object({
        files: z
          .array(
            z
              .object({
                path: z.string().min(1),
                format: z.string().min(1).default('nginx_timed'),
                rotatedPaths: z.array(z.string().min(1)).optional(),
              })
              .strict(),
          )
          .min(1),
        routes: z
          .array(
            z
              .object({
                pattern: z.string().min(1),
                route: z.string().min(1),
                faculty: z.string().min(1).optional(),
                exam: z.string().min(1).optional(),
                login: z.boolean().optional(),
              })
              .strict(),
          )
          .default([]),
        courseFaculty: z.record(z.string().min(1)).default({}),
        defaultFaculty: z.string().min(1).default('unknown'),
        loginSuccessStatuses: z.array(z.number().int().min(100).max(599)).default([302, 303]),
        sessions: z
          .object({ cookie: z.string().min(1).optional(), windowSeconds: z.number().positive().default(300) })
          .strict()
          .default({}),
        pollMs: z.number().int().min(10).max(60_000).default(250),
      })
      .strict()
      .optional(),
    nginxStatus: z.array(z.object({ url }).strict()).default([]),
    phpFpm: z
      .array(
        z
          .object({
            url,
            faculty: z.string().min(1).default('unknown'),
            maxChildren: z.number().int().positive().optional(),
            statusInPool: z.boolean().default(true),
            /** Status polls between exports (ms) for the mean busy-worker gauge; 0 = one poll per export. */
            sampleMs: z.number().int().min(0).max(60_000).default(1_000),
          })
          .strict(),
      )
      .default([]),
    scrape: z
      .array(z.object({ url, job: z.string().min(1).optional(), instance: z.string().min(1).optional() }).strict())
      .default([]),
  })
  .strict();

/** The validated `collectors:` section. */
export type CollectorsConfig = Readonly<z.infer<typeof collectorsConfigSchema>>;

/** Validates the section; errors name `collectors.<key>`. */
export function parseCollectorsConfig(input: unknown, source = 'configuration'): CollectorsConfig {
  const r = collectorsConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${['collectors', ...i.path].join('.')}: ${i.message}`);
    throw new ConfigError(`invalid ${source}:\n${lines.join('\n')}`);
  }
  const cfg = r.data;
  routeTable(cfg); // compile the patterns now
  return Object.freeze(cfg);
}

/** The access-log route table of the config, patterns compiled. */
export function routeTable(cfg: CollectorsConfig): RouteTable {
  const a = cfg.accessLogs;
  return {
    rules: (a?.routes ?? []).map((r, i) => {
      let pattern: RegExp;
      try {
        pattern = new RegExp(r.pattern);
      } catch (err) {
        throw new ConfigError(`collectors.accessLogs.routes.${i}.pattern "${r.pattern}" is not a valid regular expression: ${(err as Error).message}`);
      }
      return {
        pattern,
        route: r.route,
        ...(r.faculty !== undefined ? { faculty: r.faculty } : {}),
        ...(r.exam !== undefined ? { exam: r.exam } : {}),
        ...(r.login !== undefined ? { login: r.login } : {}),
      };
    }),
    courseFaculty: a?.courseFaculty ?? {},
    defaultFaculty: a?.defaultFaculty ?? 'unknown',
    loginSuccessStatuses: a?.loginSuccessStatuses ?? [302, 303],
  };
}
