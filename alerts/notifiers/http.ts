/**
 * The one POST helper both HTTP notifiers share: JSON body, injected fetch, retries
 * with the shared backoff on 5xx, 429 and network errors; other 4xx fail at once.
 */
import { UnavailableError, VigieError } from '../../core/errors.ts';
import { retry } from '../../core/retry.ts';
import type { HttpNotifierOptions, Notification, NotifyFn } from './types.ts';

/** POSTs `body` as JSON to `url`, retrying what can succeed later. */
export async function postJson(url: string, body: unknown, opts: HttpNotifierOptions): Promise<void> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const payload = JSON.stringify(body);
  await retry(
    async () => {
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: payload,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
      } catch (e) {
        throw new UnavailableError(`POST ${url} failed: ${(e as Error).message}; is the receiver running?`, { cause: e });
      }
      if (res.ok) {
        await res.body?.cancel().catch(() => undefined);
        return;
      }
      const text = await res.text().catch(() => '');
      const retriable = res.status >= 500 || res.status === 429;
      const msg = `POST ${url} answered ${res.status}: ${text.slice(0, 300)}`;
      throw retriable ? new UnavailableError(msg) : new VigieError(msg + ' (not retried: check the payload or the receiver configuration)');
    },
    { retries: opts.retries ?? 3, initialMs: 200, maxMs: 5000, ...(opts.sleep ? { sleep: opts.sleep } : {}) },
  );
}

/**
 * Serialises deliveries and coalesces backlog: while one delivery runs, later calls
 * wait, and only the newest alert set is delivered after it (each set is the complete
 * current state), keeping resolved alerts from superseded sets that the newest lacks.
 * So a slow or unreachable receiver under compressed simulation time cannot build an
 * unbounded queue.
 */
export function coalescing(run: (alerts: readonly Notification[]) => Promise<void>): NotifyFn {
  let running: Promise<void> | undefined;
  let next: { alerts: Notification[]; promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;

  const start = (alerts: readonly Notification[]): Promise<void> => {
    const p = run(alerts);
    running = p.then(
      () => drain(),
      () => drain(),
    );
    return p;
  };
  const drain = (): void => {
    running = undefined;
    const n = next;
    next = undefined;
    if (n) start(n.alerts).then(n.resolve, n.reject);
  };

  return (alerts) => {
    if (!running) return start(alerts);
    if (next) {
      const fps = new Set(alerts.map((a) => a.fingerprint));
      const carried = next.alerts.filter((a) => a.status === 'resolved' && !fps.has(a.fingerprint));
      next.alerts = [...alerts, ...carried];
      return next.promise;
    }
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    next = { alerts: [...alerts], promise, resolve, reject };
    return promise;
  };
}
