/**
 * The notifier seam: the engine hands every evaluation's firing and recently resolved
 * alerts to a {@link NotifyFn}. Behind the pager (paging/routing), {@link Receiver}s
 * render and send one journaled {@link OutboxMessage} each.
 */
import type { Labels } from '../../core/samples.ts';

/** One alert as a receiver sees it. Times are epoch ms. */
export interface Notification {
  readonly fingerprint: string;
  readonly status: 'firing' | 'resolved';
  /** Labels including `alertname`. */
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAt: number;
  /** Set for resolved alerts (resolve time); absent while firing. */
  readonly endsAt?: number;
  readonly generatorURL: string;
  readonly value: number;
}

/**
 * Receives the full current set after each evaluation: every firing alert, and every
 * alert resolved within the engine's resolved-retention window. Must not throw
 * synchronously; a rejected promise is recorded in the engine's health.
 */
export type NotifyFn = (alerts: readonly Notification[]) => Promise<void>;

/**
 * What the outbox journals and a direct receiver renders: a group of alerts (a single
 * alert for per-alert receivers such as PagerDuty and Alertmanager). Plain JSON.
 */
export interface OutboxMessage {
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly Notification[];
  /** Set when this message re-sends an unchanged group (repeat_interval) or keeps an Alertmanager alert alive. */
  readonly repeat?: number;
  /** Set on notices to the fallback receiver: which receiver failed and why. */
  readonly undeliverable?: { readonly receiver: string; readonly reason: string };
}

/** How the router treats a receiver. */
export interface ReceiverTraits {
  /** Alertmanager: raw alerts, no grouping/inhibition/silences (it does its own), re-sent while firing. */
  readonly raw: boolean;
  /** `alert`: one message per alert state change (dedup key per alert); `group`: one message per group flush. */
  readonly granularity: 'alert' | 'group';
  /** True when the receiver deduplicates by a key we send (exactly once); else at least once with Idempotency-Key. */
  readonly dedupes: boolean;
  /** For raw receivers: re-send firing alerts this often. */
  readonly resendIntervalMs?: number;
}

/** Context of one delivery attempt. */
export interface SendContext {
  /** The outbox entry id: stable across retries and restarts. */
  readonly idempotencyKey: string;
  /** Injected clock time of the attempt (for Retry-After dates and link time ranges). */
  readonly now: number;
}

/**
 * A direct receiver behind the outbox: renders and sends one message. Throws a
 * `ReceiverError` (retriable or not, with an optional Retry-After delay) on failure.
 */
export interface Receiver {
  readonly name: string;
  readonly type: 'alertmanager' | 'pagerduty' | 'slack' | 'webhook' | 'email';
  readonly traits: ReceiverTraits;
  send(message: OutboxMessage, ctx: SendContext): Promise<void>;
  /** Releases connections (SMTP pool). */
  close?(): Promise<void>;
}
