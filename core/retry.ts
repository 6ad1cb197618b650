/**
 * The one retry helper: jittered exponential backoff that retries only errors marked
 * retriable (or that the caller's predicate accepts), honouring a server-given delay.
 */
import { VigieError } from './errors.ts';

/** Options for {@link retry}. */
export interface RetryOptions {
  readonly retries: number;
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
  /** Decides whether an error is worth another try; default: `VigieError.retriable`. */
  readonly isRetriable?: (err: unknown) => boolean;
  /** A delay the failure itself asked for (e.g. HTTP Retry-After), in ms. */
  readonly delayHint?: (err: unknown) => number | undefined;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Full-jitter backoff delay for attempt `n` (0-based). */
export function backoffDelay(n: number, initialMs = 100, maxMs = 30_000, factor = 2, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, initialMs * factor ** n);
  return Math.round(cap / 2 + (random() * cap) / 2);
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn` until it succeeds, fails with a non-retriable error, or retries run out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const isRetriable = opts.isRetriable ?? ((e: unknown) => e instanceof VigieError && e.retriable);
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries || !isRetriable(err)) throw err;
      const hint = opts.delayHint?.(err);
      const delay = hint ?? backoffDelay(attempt, opts.initialMs, opts.maxMs, opts.factor, opts.random);
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
