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
      })
      .strict()
      .default({}),
    alerts: z
      .object({
        rulesFile: z.string().min(1).default(new URL('../alerts/rules/default.yml', import.meta.url).pathname),
        evaluationIntervalMs: z.number().int().min(1000).default(15_000),
        alertmanagerUrl: z.string().url().optional(),
        webhookUrls: z.array(z.string().url()).default([]),
      })
      .strict()
      .default({}),
    /**
     * Receivers, routes, inhibition, silences and the outbox. Validated by the alerts
     * stage's own schema (`alerts/routing/config.ts`) when the CLI builds the pager, so
     * core does not depend on a stage.
     */
    paging: z.record(z.unknown()).optional(),
    /**
     * Sources of `vigie collect` (access logs, /proc, nginx, PHP-FPM, scrapes), validated
     * by the collectors stage's own schema (`collectors/config.ts`), like `paging`.
     */
    collectors: z.record(z.unknown()).optional(),
    selfTelemetry: z
      .object({
        /** Port of the process's own Prometheus endpoint; 0 = disabled. */
        port: z.number().int().min(0).max(65535).default(0),
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
