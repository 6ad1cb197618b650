/**
 * Alertmanager API v2 notifier: POSTs `/api/v2/alerts`. Firing alerts are (re-)sent on
 * first sight and then every `resendIntervalMs` of the injected clock, without
 * `endsAt` so Alertmanager applies its own resolve_timeout; resolved alerts are sent
 * once with `endsAt` = resolve time. Failures are retried (5xx/network) and, if still
 * failing, re-attempted at the next evaluation because nothing is marked as sent.
 */
import type { Clock } from '../../core/clock.ts';
import { postOnce } from './http.ts';
import type { Notification, OutboxMessage, Receiver, SendContext } from './types.ts';

/** The JSON shape of one alert in POST /api/v2/alerts. */
export interface AlertmanagerAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL: string;
}

/** Converts a notification to the Alertmanager v2 body element. */
export function toAlertmanagerAlert(n: Notification): AlertmanagerAlert {
  return {
    labels: { ...n.labels },
    annotations: { ...n.annotations },
    startsAt: new Date(n.startsAt).toISOString(),
    ...(n.status === 'resolved' && n.endsAt !== undefined ? { endsAt: new Date(n.endsAt).toISOString() } : {}),
    generatorURL: n.generatorURL,
  };
}

/** Options of {@link createAlertmanagerReceiver}. */
export interface AlertmanagerReceiverOptions {
  readonly name: string;
  readonly url: string;
  readonly resendIntervalMs?: number;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/**
 * Alertmanager as an outbox receiver: raw alerts (Alertmanager groups, inhibits and
 * silences them itself), re-sent while firing, resolved with endsAt. Alertmanager
 * merges alerts by their labels, so a re-send after a crash is harmless: exactly once.
 */
export function createAlertmanagerReceiver(opts: AlertmanagerReceiverOptions): Receiver {
  const endpoint = opts.url.replace(/\/$/, '') + '/api/v2/alerts';
  return {
    name: opts.name,
    type: 'alertmanager',
    traits: { raw: true, granularity: 'alert', dedupes: true, resendIntervalMs: opts.resendIntervalMs ?? 60_000 },
    send(m: OutboxMessage, ctx: SendContext) {
      return postOnce({
        url: endpoint,
        body: m.alerts.map(toAlertmanagerAlert),
        headers: { 'idempotency-key': ctx.idempotencyKey },
        now: ctx.now,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      });
    },
  };
}
