/**
 * Generic webhook receiver for installs without Alertmanager: POSTs the Alertmanager
 * webhook body (version 4), one message per alertname, only when an alert's status
 * changes (first firing, then resolved), so a direct receiver gets no duplicate pages.
 */
import type { Clock } from '../../core/clock.ts';
import type { Labels } from '../../core/samples.ts';
import { postOnce } from './http.ts';
import type { Notification, OutboxMessage, Receiver, SendContext } from './types.ts';

/** One alert in a version-4 webhook body. */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** The Alertmanager webhook body, version 4. */
export interface WebhookBody {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

/** Alertmanager's "zero time" for endsAt of firing alerts. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function common(maps: readonly Labels[]): Record<string, string> {
  const out: Record<string, string> = { ...(maps[0] ?? {}) };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** 16-hex-digit fingerprint, as Alertmanager prints it. */
export function hexFingerprint(fp: string): string {
  try {
    return BigInt(fp).toString(16).padStart(16, '0');
  } catch {
    return fp;
  }
}

/** Builds a version-4 webhook body for alerts sharing `groupLabels`. */
export function buildWebhookBody(
  alerts: readonly Notification[],
  groupLabels: Record<string, string>,
  opts: { receiver?: string; externalURL?: string } = {},
): WebhookBody {
  const gl = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`)
    .join(',');
  return {
    version: '4',
    groupKey: `{}:{${gl}}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: opts.receiver ?? 'vigie',
    groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: opts.externalURL ?? '',
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: a.status === 'resolved' && a.endsAt !== undefined ? new Date(a.endsAt).toISOString() : ZERO_TIME,
      generatorURL: a.generatorURL,
      fingerprint: hexFingerprint(a.fingerprint),
    })),
  };
}

/** Options of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions {
  readonly name: string;
  readonly url: string;
  readonly externalURL?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/**
 * Generic webhook as an outbox receiver: one Alertmanager v4 body per group flush,
 * with an `Idempotency-Key` header (stable across retries and restarts) so a receiver
 * that honours it sees each notification once; otherwise at least once.
 */
export function createWebhookReceiver(opts: WebhookReceiverOptions): Receiver {
  return {
    name: opts.name,
    type: 'webhook',
    traits: { raw: false, granularity: 'group', dedupes: false },
    send(m: OutboxMessage, ctx: SendContext) {
      const body = { ...buildWebhookBody(m.alerts, { ...m.groupLabels }, { receiver: opts.name, externalURL: opts.externalURL ?? '' }), status: m.status };
      return postOnce({
        url: opts.url,
        body,
        headers: { 'idempotency-key': ctx.idempotencyKey },
        now: ctx.now,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      });
    },
  };
}
