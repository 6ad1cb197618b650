/**
 * HTTP helper of the receivers: `postOnce` makes one attempt and classifies the failure —
 * retriable or not, with the server's Retry-After — so the outbox owns retries,
 * persistence and give-up.
 */
import { UnavailableError } from '../../core/errors.ts';
import { redactText, redactUrl, splitUrlCredentials } from '../../core/redact.ts';

/**
 * A receiver refused or could not take a notification. `retriable` follows HTTP: 5xx,
 * 408, 429 and network errors are; other 4xx are not (the payload or the configuration
 * is wrong). `retryAfterMs` carries the server's Retry-After, when it gave one.
 */
export class ReceiverError extends UnavailableError {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { retriable: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, { retriable: opts.retriable, cause: opts.cause });
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Parses Retry-After (delta seconds or an HTTP date) into ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now);
}

/** True for HTTP statuses worth another try later. */
export function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** One POST attempt for the outbox: no retries here (the outbox owns them). */
export interface HttpAttempt {
  /** Where to send; shown in errors as `redactedUrl` when the URL is a secret (Slack). */
  readonly url: string;
  readonly redactedUrl?: string;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly now: number;
}

/** POSTs JSON once; throws a {@link ReceiverError} on any failure. */
export async function postOnce(a: HttpAttempt): Promise<void> {
  const doFetch = a.fetch ?? globalThis.fetch;
  const shown = a.redactedUrl ?? redactUrl(a.url);
  // A URL that can never work is a configuration error: refused at once, not retried.
  let target: { url: string; authorization?: string };
  try {
    target = splitUrlCredentials(a.url);
    if (!/^https?:$/.test(new URL(target.url).protocol)) throw new Error('only http and https are supported');
  } catch (e) {
    throw new ReceiverError(`receiver URL ${shown} is invalid (${(e as Error).message}): fix the receiver configuration`, { retriable: false });
  }
  let res: Response;
  try {
    res = await doFetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(target.authorization !== undefined ? { authorization: target.authorization } : {}),
        ...(a.headers ?? {}),
      },
      body: JSON.stringify(a.body),
      signal: AbortSignal.timeout(a.timeoutMs ?? 10_000),
    });
  } catch (e) {
    throw new ReceiverError(`POST ${shown} failed: ${redactText((e as Error).message)}; is the receiver reachable?`, { retriable: true, cause: e });
  }
  if (res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return;
  }
  const text = await res.text().catch(() => '');
  const retriable = isRetriableStatus(res.status);
  const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after'), a.now) : undefined;
  throw new ReceiverError(
    `POST ${shown} answered ${res.status}: ${text.slice(0, 300)}${retriable ? '' : ' (not retried: check the payload or the receiver configuration)'}`,
    { retriable, status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
  );
}
