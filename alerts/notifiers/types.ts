/**
 * The notifier seam: the engine hands every evaluation's firing and recently resolved
 * alerts to a {@link NotifyFn}; receivers (Alertmanager, webhook) decide what to send.
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

/** Shared options of HTTP notifiers. */
export interface HttpNotifierOptions {
  readonly url: string;
  readonly fetch?: typeof fetch;
  /** Attempts after the first on 5xx / network errors (default 3). */
  readonly retries?: number;
  /** Injected sleep for the retry backoff (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly timeoutMs?: number;
}
