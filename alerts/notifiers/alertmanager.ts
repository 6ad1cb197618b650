/**
 * Alertmanager API v2 notifier: POSTs `/api/v2/alerts`. Firing alerts are (re-)sent on
 * first sight and then every `resendIntervalMs` of the injected clock, without
 * `endsAt` so Alertmanager applies its own resolve_timeout; resolved alerts are sent
 * once with `endsAt` = resolve time. Failures are retried (5xx/network) and, if still
 * failing, re-attempted at the next evaluation because nothing is marked as sent.
 */
import type { Clock } from '../../core/clock.ts';
import { coalescing, postJson, postOnce } from './http.ts';
import type { HttpNotifierOptions, Notification, NotifyFn, OutboxMessage, Receiver, SendContext } from './types.ts';

/** Options of {@link createAlertmanagerNotifier}. */
export interface AlertmanagerNotifierOptions extends HttpNotifierOptions {
  /** Alertmanager base URL, e.g. http://127.0.0.1:9093 (path /api/v2/alerts is appended). */
  readonly url: string;
  readonly resendIntervalMs?: number;
  readonly clock: Clock;
}

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

interface SentState {
  status: 'firing' | 'resolved';
  startsAt: number;
  lastSentAt: number;
}

/** Creates a NotifyFn that pages through Alertmanager. Calls are serialised and a backlog is coalesced. */
export function createAlertmanagerNotifier(opts: AlertmanagerNotifierOptions): NotifyFn {
  const resend = opts.resendIntervalMs ?? 60_000;
  const endpoint = opts.url.replace(/\/$/, '') + '/api/v2/alerts';
  const sent = new Map<string, SentState>();

  async function run(alerts: readonly Notification[]): Promise<void> {
    const now = opts.clock();
    const due: Notification[] = [];
    const present = new Set<string>();
    for (const a of alerts) {
      present.add(a.fingerprint);
      const prev = sent.get(a.fingerprint);
      const changed = !prev || prev.status !== a.status || prev.startsAt !== a.startsAt;
      if (changed || (a.status === 'firing' && now - prev.lastSentAt >= resend)) due.push(a);
    }
    for (const fp of sent.keys()) if (!present.has(fp)) sent.delete(fp);
    if (due.length === 0) return;
    await postJson(endpoint, due.map(toAlertmanagerAlert), opts);
    for (const a of due) sent.set(a.fingerprint, { status: a.status, startsAt: a.startsAt, lastSentAt: now });
  }

  return coalescing(run);
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
