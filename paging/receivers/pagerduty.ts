/**
 * PagerDuty Events API v2 receiver: `POST {url}/v2/enqueue` with `event_action`
 * trigger or resolve and a `dedup_key` derived from the alert's identity (the
 * fingerprint of its labels), so PagerDuty itself makes re-sends idempotent: a retry
 * after a crash adds nothing to the open incident. The routing key is added at send
 * time only — it is never written to the outbox journal nor to a log line.
 */
import type { Labels } from '../../core/samples.ts';
import { dashboardLink, formatAlertLine, runbookLink, type FormatOptions } from './format.ts';
import { postOnce } from './http.ts';
import { hexFingerprint } from './webhook.ts';
import type { Notification, OutboxMessage, Receiver, SendContext } from './types.ts';

/** Options of {@link createPagerDutyReceiver}. */
export interface PagerDutyReceiverOptions extends FormatOptions {
  readonly name: string;
  /** Events API base, e.g. https://events.pagerduty.com. */
  readonly url: string;
  readonly routingKey: string;
  readonly source?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** PagerDuty severities. */
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** Maps Vigie's `severity` label to PagerDuty's: page/critical → critical, error, warning, info. */
export function pagerDutySeverity(labels: Labels): PagerDutySeverity {
  switch ((labels['severity'] ?? '').toLowerCase()) {
    case 'page':
    case 'critical':
      return 'critical';
    case 'error':
      return 'error';
    case 'info':
    case 'none':
      return 'info';
    default:
      return 'warning';
  }
}

/** The dedup key of an alert: stable for its label set, whatever the process or restart. */
export function pagerDutyDedupKey(a: Notification): string {
  return `vigie-${hexFingerprint(a.fingerprint)}`;
}

/** A PagerDuty Events v2 event, without the routing key (added when sending). */
export interface PagerDutyEvent {
  readonly event_action: 'trigger' | 'resolve';
  readonly dedup_key: string;
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: PagerDutySeverity;
    readonly timestamp: string;
    readonly component?: string;
    readonly group?: string;
    readonly class?: string;
    readonly custom_details: Record<string, unknown>;
  };
  readonly links?: readonly { readonly href: string; readonly text: string }[];
  readonly client: string;
}

/** Builds the event for one alert. */
export function toPagerDutyEvent(a: Notification, opts: FormatOptions & { source?: string }): PagerDutyEvent {
  const dedup_key = pagerDutyDedupKey(a);
  if (a.status === 'resolved') return { event_action: 'resolve', dedup_key, client: 'Vigie' };
  const links: { href: string; text: string }[] = [];
  const d = dashboardLink(a, opts);
  if (d) links.push({ href: d, text: 'Dashboard' });
  const r = runbookLink(a, opts);
  if (r) links.push({ href: r, text: 'Runbook' });
  const server = a.labels['server'] ?? a.labels['instance'];
  return {
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: formatAlertLine(a).slice(0, 1024),
      source: opts.source ?? 'vigie',
      severity: pagerDutySeverity(a.labels),
      timestamp: new Date(a.startsAt).toISOString(),
      ...(server ? { component: server } : {}),
      ...(a.labels['faculty'] ? { group: a.labels['faculty'] } : {}),
      ...(a.labels['alertname'] ? { class: a.labels['alertname'] } : {}),
      custom_details: { labels: { ...a.labels }, annotations: { ...a.annotations }, value: Number.isFinite(a.value) ? a.value : null },
    },
    ...(links.length ? { links } : {}),
    client: 'Vigie',
  };
}

/** Creates a PagerDuty receiver (one event per alert state change). */
export function createPagerDutyReceiver(opts: PagerDutyReceiverOptions): Receiver {
  const endpoint = opts.url.replace(/\/$/, '') + '/v2/enqueue';
  return {
    name: opts.name,
    type: 'pagerduty',
    traits: { raw: false, granularity: 'alert', dedupes: true },
    async send(m: OutboxMessage, ctx: SendContext) {
      for (const a of m.alerts) {
        const event = toPagerDutyEvent(a, opts);
        await postOnce({
          url: endpoint,
          body: { routing_key: opts.routingKey, ...event },
          headers: { 'idempotency-key': ctx.idempotencyKey },
          now: ctx.now,
          ...(opts.fetch ? { fetch: opts.fetch } : {}),
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        });
      }
    },
  };
}
