/**
 * The `paging:` section of Vigie's configuration: receivers (Alertmanager, PagerDuty,
 * Slack-compatible, generic webhook, SMTP mail), the route tree, inhibition rules,
 * silences file, resolve hold-down and the durable outbox. Validated once with zod;
 * errors name the key (e.g. `paging.route.routes.0.receiver`). Keys mirror
 * Alertmanager's own config (snake_case) so operators can carry rules over as they are.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import { tryParseDuration } from '../../rules/duration.ts';
import { parseMatcher, type Matcher } from './matchers.ts';

/** A Prometheus duration string (`30s`, `5m`, `1h`) parsed to milliseconds. */
const duration = z.string().transform((s, ctx) => {
  const ms = tryParseDuration(s.trim());
  if (ms === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `invalid duration "${s}": expected e.g. 0s, 30s, 5m, 1h30m` });
    return z.NEVER;
  }
  return ms;
});

/** A matcher string (`severity=page`, `faculty=~"med|law"`) parsed to a {@link Matcher}. */
const matcher = z.string().transform((s, ctx): Matcher => {
  try {
    return parseMatcher(s);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});

const httpUrl = z.string().url('expected an http(s) URL');
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a receiver name of letters, digits, _ . -');

// PagerDuty: one of routing_key / routing_key_env is checked in the section's superRefine
// (a refine here would stop the discriminated union from accepting the object).
const alertmanagerReceiver = z
  .object({
    name,
    type: z.literal('alertmanager'),
    /** Base URL; `/api/v2/alerts` is appended. */
    url: httpUrl,
    /** Re-send firing alerts this often (must stay below Alertmanager's resolve_timeout). */
    resend_interval: duration.default('1m'),
  })
  .strict();

const pagerdutyReceiver = z
  .object({
    name,
    type: z.literal('pagerduty'),
    /** Events API base; `/v2/enqueue` is appended. */
    url: httpUrl.default('https://events.pagerduty.com'),
    /** Integration (routing) key: a secret, never logged nor journaled. Or use routing_key_env. */
    routing_key: z.string().min(1).optional(),
    /** Name of an environment variable holding the routing key. */
    routing_key_env: z.string().min(1).optional(),
    /** `payload.source` (default: `vigie`). */
    source: z.string().min(1).default('vigie'),
  })
  .strict();

const slackReceiver = z
  .object({
    name,
    type: z.literal('slack'),
    /** Incoming-webhook URL (Slack, Mattermost, Rocket.Chat). A secret: never logged. */
    url: httpUrl,
    channel: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
  })
  .strict();

const webhookReceiver = z
  .object({
    name,
    type: z.literal('webhook'),
    /** Receives the Alertmanager webhook body (version 4). */
    url: httpUrl,
  })
  .strict();

const emailReceiver = z
  .object({
    name,
    type: z.literal('email'),
    smtp: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(587),
        /** TLS from the first byte (port 465); otherwise STARTTLS when offered. */
        secure: z.boolean().default(false),
        /** Refuse to send without STARTTLS. */
        require_tls: z.boolean().default(false),
        user: z.string().optional(),
        password: z.string().optional(),
        password_env: z.string().optional(),
      })
      .strict(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
  })
  .strict();

/** One receiver; `type` selects the kind. */
export const receiverConfigSchema = z.discriminatedUnion('type', [
  alertmanagerReceiver,
  pagerdutyReceiver,
  slackReceiver,
  webhookReceiver,
  emailReceiver,
]);

/** A route node; unset timing and group_by inherit from the parent (root defaults below). */
export interface RouteConfigInput {
  receiver?: string | undefined;
  matchers?: string[] | undefined;
  continue?: boolean | undefined;
  group_by?: string[] | undefined;
  group_wait?: string | undefined;
  group_interval?: string | undefined;
  repeat_interval?: string | undefined;
  routes?: RouteConfigInput[] | undefined;
}

/** A parsed route node (durations in ms). */
export interface RouteConfig {
  readonly receiver?: string | undefined;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  readonly group_by?: readonly string[] | undefined;
  readonly group_wait?: number | undefined;
  readonly group_interval?: number | undefined;
  readonly repeat_interval?: number | undefined;
  readonly routes: readonly RouteConfig[];
}

const routeSchema: z.ZodType<RouteConfig, z.ZodTypeDef, RouteConfigInput> = z.lazy(() =>
  z
    .object({
      receiver: name.optional(),
      matchers: z.array(matcher).default([]),
      continue: z.boolean().default(false),
      /** Labels that form a group; `['...']` groups by all labels (one alert per group). */
      group_by: z.array(z.string().min(1)).optional(),
      group_wait: duration.optional(),
      group_interval: duration.optional(),
      repeat_interval: duration.optional(),
      routes: z.array(routeSchema).default([]),
    })
    .strict(),
);

const inhibitRuleSchema = z
  .object({
    source_matchers: z.array(matcher).min(1),
    target_matchers: z.array(matcher).min(1),
    /** Labels that must be equal on source and target (e.g. `[exam_session]`); empty = any. */
    equal: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** The `paging:` section. */
export const pagingConfigSchema = z
  .object({
    receivers: z.array(receiverConfigSchema).default([]),
    route: routeSchema.optional(),
    inhibit_rules: z.array(inhibitRuleSchema).default([]),
    /** A resolved alert must stay resolved this long before its resolve is sent (flap damping). */
    resolve_hold: duration.default('5m'),
    /** Silences and maintenance windows (`vigie silence …`). */
    silences_file: z.string().min(1).default('.vigie/silences.json'),
    outbox: z
      .object({
        /** Give up after this long: log, count, and hand to the fallback receiver. */
        max_age: duration.default('1h'),
        /** Receiver name for undeliverable notifications (e.g. mail when PagerDuty is down). */
        fallback: name.optional(),
        compact_interval: duration.default('10m'),
        /** How long delivered ids are remembered to refuse re-sending them. */
        dedup_window: duration.default('24h'),
        backoff_initial: duration.default('1s'),
        backoff_max: duration.default('5m'),
        timeout: duration.default('10s'),
        concurrency: z.number().int().min(1).max(64).default(4),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.receivers.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['receivers', i, 'name'], message: `duplicate receiver name "${r.name}"` });
      names.add(r.name);
      if (r.type === 'pagerduty' && r.routing_key === undefined && r.routing_key_env === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['receivers', i, 'routing_key'], message: 'set routing_key or routing_key_env (the PagerDuty integration key)' });
      }
    });
    const known = [...names].join(', ') || '(none defined)';
    const check = (rc: RouteConfig, path: (string | number)[]) => {
      if (rc.receiver !== undefined && !names.has(rc.receiver)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, 'receiver'], message: `unknown receiver "${rc.receiver}"; defined: ${known}` });
      }
      rc.routes.forEach((c, i) => check(c, [...path, 'routes', i]));
    };
    if (cfg.route) {
      if (cfg.route.receiver === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['route', 'receiver'], message: 'the root route needs a receiver' });
      check(cfg.route, ['route']);
    } else if (cfg.receivers.length > 1) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['route'], message: 'several receivers need a route saying which alerts go where' });
    }
    if (cfg.outbox.fallback !== undefined && !names.has(cfg.outbox.fallback)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['outbox', 'fallback'], message: `unknown receiver "${cfg.outbox.fallback}"; defined: ${known}` });
    }
  });

/** The validated `paging:` section (durations in ms). */
export type PagingConfig = Readonly<z.output<typeof pagingConfigSchema>>;
/** What a config file may say under `paging:`. */
export type PagingConfigInput = z.input<typeof pagingConfigSchema>;
/** One validated receiver. */
export type ReceiverConfig = z.output<typeof receiverConfigSchema>;
/** One validated inhibition rule. */
export type InhibitRule = z.output<typeof inhibitRuleSchema>;

/** Validates a `paging:` section; throws a ConfigError listing `paging.<key>: <problem>` lines. */
export function parsePagingConfig(input: unknown): PagingConfig {
  const r = pagingConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - paging.${i.path.join('.') || '(section)'}: ${i.message}`);
    throw new ConfigError(`invalid paging configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}
