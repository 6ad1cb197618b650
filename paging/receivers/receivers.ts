/**
 * Builds the direct receivers named in the `paging.receivers` config: one small module
 * per kind, each given the injected fetch (or SMTP transport) — no global client.
 * Secrets given by environment variable are read here, once, at build time.
 */
import { ConfigError } from '../../core/errors.ts';
import type { ReceiverConfig } from '../routing/config.ts';
import { createAlertmanagerReceiver } from './alertmanager.ts';
import { createEmailReceiver, type MailTransport } from './email.ts';
import type { FormatOptions } from './format.ts';
import { createPagerDutyReceiver } from './pagerduty.ts';
import { createSlackReceiver } from './slack.ts';
import type { Receiver } from './types.ts';
import { createWebhookReceiver } from './webhook.ts';

/** What every receiver may be given. */
export interface ReceiverDeps extends FormatOptions {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Replaces nodemailer's SMTP transport for mail receivers (tests). */
  readonly mailTransport?: (receiver: string) => MailTransport | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function secret(value: string | undefined, envName: string | undefined, env: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  if (value !== undefined) return value;
  if (envName === undefined) return undefined;
  const v = env[envName];
  if (v === undefined || v === '') throw new ConfigError(`${key}_env names ${envName}, which is not set in the environment`);
  return v;
}

/** Builds one receiver from its config. */
export function buildReceiver(cfg: ReceiverConfig, deps: ReceiverDeps = {}): Receiver {
  const env = deps.env ?? process.env;
  const http = { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}) };
  const fmt = { ...(deps.dashboardUrl ? { dashboardUrl: deps.dashboardUrl } : {}), ...(deps.runbookUrl ? { runbookUrl: deps.runbookUrl } : {}) };
  switch (cfg.type) {
    case 'alertmanager':
      return createAlertmanagerReceiver({ name: cfg.name, url: cfg.url, resendIntervalMs: cfg.resend_interval, ...http });
    case 'pagerduty': {
      const routingKey = secret(cfg.routing_key, cfg.routing_key_env, env, `paging.receivers[${cfg.name}].routing_key`);
      if (!routingKey) throw new ConfigError(`paging.receivers[${cfg.name}]: set routing_key or routing_key_env`);
      return createPagerDutyReceiver({ name: cfg.name, url: cfg.url, routingKey, source: cfg.source, ...http, ...fmt });
    }
    case 'slack':
      return createSlackReceiver({ name: cfg.name, url: cfg.url, ...(cfg.channel ? { channel: cfg.channel } : {}), ...(cfg.username ? { username: cfg.username } : {}), ...http, ...fmt });
    case 'webhook':
      return createWebhookReceiver({ name: cfg.name, url: cfg.url, ...http });
    case 'email': {
      const password = secret(cfg.smtp.password, cfg.smtp.password_env, env, `paging.receivers[${cfg.name}].smtp.password`);
      const transport = deps.mailTransport?.(cfg.name);
      return createEmailReceiver({
        name: cfg.name,
        smtp: {
          host: cfg.smtp.host,
          port: cfg.smtp.port,
          secure: cfg.smtp.secure,
          requireTLS: cfg.smtp.require_tls,
          ...(cfg.smtp.user ? { user: cfg.smtp.user } : {}),
          ...(password !== undefined ? { password } : {}),
          ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
        },
        from: cfg.from,
        to: cfg.to,
        ...(transport ? { transport } : {}),
        ...fmt,
      });
    }
  }
}
