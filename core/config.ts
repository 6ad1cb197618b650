/**
 * Vigie's configuration: one zod schema, parsed and validated once at start-up.
 * Errors name the offending key and what is accepted; the rest of the code receives
 * a readonly, typed object. Sources, lowest precedence first: defaults, a YAML file
 * (`--config`), then command-line flags.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9_.:[\]-]+:\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:19092');

/** The validated configuration schema. */
export const configSchema = z
  .object({
    kafka: z
      .object({
        /** Kafka bootstrap brokers; absent → the in-process transport (embedded mode). */
        brokers: z.array(hostPort).min(1).optional(),
        topic: z.string().min(1).default('otlp_metrics'),
        groupId: z.string().min(1).default('vigie-pipeline'),
        partitions: z.number().int().min(1).max(1024).default(4),
        /** TLS to the brokers; `{}` = TLS with the system CAs. */
        tls: z
          .object({
            /** PEM file of the CA that signed the brokers' certificates. */
            caFile: z.string().min(1).optional(),
            /** PEM client certificate and key, for brokers that require mutual TLS. */
            certFile: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            /** Host name checked against the broker certificate, when it differs from the bootstrap address. */
            servername: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
        /** SASL authentication; the password may come from `VIGIE_KAFKA_PASSWORD` instead of the file. */
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    clickhouse: z
      .object({
        /** ClickHouse HTTP URL; absent → embedded chDB at `chdbPath`. */
        url: z.string().url().optional(),
        chdbPath: z.string().min(1).default('.vigie/chdb'),
        database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier').default('vigie'),
        username: z.string().optional(),
        password: z.string().optional(),
        /**
         * Cluster name from the servers' `remote_servers`: `vigie ingest` then migrates
         * `ON CLUSTER`, with Replicated engines and Distributed tables (schema/migrate.ts).
         */
        cluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a cluster name from remote_servers').optional(),
      })
      .strict()
      .default({}),
    alerts: z
      .object({
        rulesFile: z.string().min(1).default(new URL('../rules/packs/default.yml', import.meta.url).pathname),
        evaluationIntervalMs: z.number().int().min(1000).default(15_000),
        alertmanagerUrl: z.string().url().optional(),
        webhookUrls: z.array(z.string().url()).default([]),
      })
      .strict()
      .default({}),
    /**
     * Receivers, routes, inhibition, silences and the outbox. Validated by the alerts
     * stage's own schema (`paging/routing/config.ts`) when the CLI builds the pager, so
     * core does not depend on a stage.
     */
    paging: z.record(z.unknown()).optional(),
    /**
     * The metric mapping (rename, relabel: a platform's names → the telemetry contract).
     * Validated by the pipeline's own schema (`pipeline/mapping.ts`) at start-up.
     */
    metrics: z.record(z.unknown()).optional(),
    /**
     * The exam timetable (schedule/): a file or an HTTP URL, reloaded live; each accepted
     * version is stored in `exam_schedule` and feeds the rules' expected-load series.
     */
    schedule: z
      .object({
        /** Timetable file (CSV, JSON or iCalendar; format from the extension unless `format`). */
        file: z.string().min(1).optional(),
        /** Timetable URL, polled with If-None-Match (ETag). */
        url: z.string().url().regex(/^https?:\/\//i, 'expected an http:// or https:// URL').optional(),
        format: z.enum(['csv', 'json', 'ics']).optional(),
        /** How often the source is checked (a file is also watched for changes). */
        pollSeconds: z.number().min(1).max(86_400).default(30),
        /** Extra request headers for `url` (e.g. Authorization). */
        headers: z.record(z.string()).optional(),
        /** Tested session capacity per faculty, for `vigie schedule show`. */
        capacity: z.record(z.number().int().positive()).optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        if ((s.file === undefined) === (s.url === undefined)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give exactly one of schedule.file or schedule.url' });
        }
        if (s.headers !== undefined && s.url === undefined) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['headers'], message: 'headers apply to schedule.url only' });
        }
      })
      .optional(),
    /**
     * The platform's capacity per faculty pool, server and database pool, for the planner
     * (`vigie plan`) and the plan the rules read; validated by the planner's own schema
     * (`planner/capacity.ts`) at start-up, like `paging`.
     */
    capacity: z.record(z.unknown()).optional(),
    /**
     * Sources of `vigie collect` (access logs, /proc, nginx, PHP-FPM, scrapes), validated
     * by the collectors stage's own schema (`collectors/config.ts`), like `paging`.
     */
    collectors: z.record(z.unknown()).optional(),
    selfTelemetry: z
      .object({
        /** Port of the process's own Prometheus endpoint; 0 = disabled; absent = the command's default (`vigie ingest`: 9464). */
        port: z.number().int().min(0).max(65535).optional(),
        /** Listen address of that endpoint (default 127.0.0.1; `0.0.0.0` for a scraper on another host). */
        host: z.string().min(1).default('127.0.0.1'),
        /** Bearer token a scraper must send (also from `VIGIE_METRICS_TOKEN`); absent = no auth (fine on loopback). */
        bearerToken: z.string().min(16, 'use at least 16 characters').optional(),
      })
      .strict()
      .default({}),
    /** Validation limits of the pipeline stage (`vigie ingest`). */
    pipeline: z
      .object({
        /** Oldest accepted sample, relative to now, in ms (default 7 days; a backfill needs more). */
        maxAgeMs: z.number().int().min(60_000).default(7 * 24 * 3600_000),
        /** Furthest accepted future timestamp, in ms (default 10 minutes). */
        maxSkewMs: z.number().int().min(0).default(10 * 60_000),
        /** Series per metric family (default 50,000). */
        maxSeriesPerMetric: z.number().int().min(1).default(50_000),
        /** Distinct metric families (default 2,000). */
        maxMetricNames: z.number().int().min(1).default(2_000),
        /** Series over all families (default 250,000); bounds the pipeline's memory. */
        maxSeries: z.number().int().min(1).default(250_000),
        /** A series unseen this long is forgotten when a limit is hit, in ms (default 30 min). */
        seriesIdleMs: z.number().int().min(60_000).default(30 * 60_000),
        /** How long SIGTERM may take (finish the batch, commit, leave the group) before the process exits anyway. */
        shutdownTimeoutMs: z.number().int().min(1000).default(20_000),
      })
      .strict()
      .default({}),
  })
  .strict();

/** The validated configuration. */
export type VigieConfig = Readonly<z.infer<typeof configSchema>>;
/** What a config file or flags may say (all optional). */
export type VigieConfigInput = z.input<typeof configSchema>;

/** Validates `input`, throwing a ConfigError that names every offending key. */
export function parseConfig(input: unknown, source = 'configuration'): VigieConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return Object.freeze(result.data);
}

/** Reads a YAML config file and validates it merged with `overrides` (flags win). */
export function loadConfig(file: string | undefined, overrides: VigieConfigInput = {}): VigieConfig {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      fromFile = (parseYaml(text) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
    }
  }
  return parseConfig(deepMerge(fromFile, overrides as Record<string, unknown>), file ? `config file ${file}` : 'configuration');
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
