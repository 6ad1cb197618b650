/**
 * Status pages of the web tier, polled each collection: nginx `stub_status`
 * (connections by state, accepted/handled/requests counters; names of the OTel
 * Collector's nginx receiver) and PHP-FPM `pm.status_path` in JSON (processes by
 * state, listen queue, max children reached). PHP-FPM's busy workers and pool size are
 * also emitted as the contract's `ecampus.workers.busy` / `ecampus.workers.max`
 * {faculty, server}, the worker gauge the shipped rule pack reads
 * (`faculty:ecampus_workers:utilization`, `WorkersSaturated`). A failed poll is
 * reported as `vigie.scrape.up` 0 with the error, never as missing data.
 */
import { VigieError } from '../core/errors.ts';
import type { MetricSource } from './hostSignals.ts';
import type { MetricPoints, PointBatch } from './pointBatch.ts';

/** Parsed nginx stub_status. */
export interface NginxStatus {
  readonly active: number;
  readonly accepts: number;
  readonly handled: number;
  readonly requests: number;
  readonly reading: number;
  readonly writing: number;
  readonly waiting: number;
}

/** Parses the stub_status page; throws naming what is missing. */
export function parseStubStatus(text: string): NginxStatus {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const counts = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/m.exec(text);
  const rww = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!active || !counts || !rww) throw new VigieError(`not an nginx stub_status page: ${JSON.stringify(text.slice(0, 120))}`);
  return {
    active: Number(active[1]),
    accepts: Number(counts[1]),
    handled: Number(counts[2]),
    requests: Number(counts[3]),
    reading: Number(rww[1]),
    writing: Number(rww[2]),
    waiting: Number(rww[3]),
  };
}

/** Parsed PHP-FPM status (`?json`). */
export interface PhpFpmStatus {
  readonly pool: string;
  readonly processManager: string;
  readonly acceptedConn: number;
  readonly listenQueue: number;
  readonly maxListenQueue: number;
  readonly listenQueueLen: number;
  readonly idle: number;
  readonly active: number;
  readonly total: number;
  readonly maxActive: number;
  readonly maxChildrenReached: number;
  readonly slowRequests: number;
}

/** Parses PHP-FPM's JSON status; throws naming the missing field. */
export function parsePhpFpmStatus(text: string): PhpFpmStatus {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new VigieError(`PHP-FPM status is not JSON (use pm.status_path with ?json): ${JSON.stringify(text.slice(0, 120))}`);
  }
  const num = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number') throw new VigieError(`PHP-FPM status has no numeric "${k}"`);
    return v;
  };
  return {
    pool: String(o['pool'] ?? ''),
    processManager: String(o['process manager'] ?? ''),
    acceptedConn: num('accepted conn'),
    listenQueue: num('listen queue'),
    maxListenQueue: num('max listen queue'),
    listenQueueLen: num('listen queue len'),
    idle: num('idle processes'),
    active: num('active processes'),
    total: num('total processes'),
    maxActive: num('max active processes'),
    maxChildrenReached: num('max children reached'),
    slowRequests: num('slow requests'),
  };
}

async function fetchText(doFetch: typeof fetch, url: string, timeoutMs: number): Promise<string> {
  const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (!res.ok) throw new VigieError(`GET ${url} answered ${res.status}: ${body.slice(0, 120)}`);
  return body;
}

const upMetric = (server: string, target: string, up: boolean): MetricPoints => ({
  kind: 'gauge',
  name: 'vigie.scrape.up',
  description: '1 when the last poll of the target succeeded',
  points: [{ attributes: { server, 'url.full': target }, value: up ? 1 : 0 }],
});

/** Options shared by the status sources. */
export interface StatusSourceOptions {
  readonly url: string;
  readonly resource: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly startMs: number;
  readonly onError?: (message: string) => void;
}

/** nginx stub_status source. */
export function createNginxStatusSource(opts: StatusSourceOptions): MetricSource {
  const server = opts.resource['host.name'] ?? '';
  return {
    name: `nginx ${opts.url}`,
    async collect(nowMs: number): Promise<PointBatch[]> {
      let metrics: MetricPoints[];
      try {
        const s = parseStubStatus(await fetchText(opts.fetch ?? fetch, opts.url, opts.timeoutMs ?? 5_000));
        const a = { server };
        metrics = [
          {
            kind: 'gauge',
            name: 'nginx.connections_current',
            points: [
              { attributes: { ...a, state: 'active' }, value: s.active },
              { attributes: { ...a, state: 'reading' }, value: s.reading },
              { attributes: { ...a, state: 'writing' }, value: s.writing },
              { attributes: { ...a, state: 'waiting' }, value: s.waiting },
            ],
          },
          { kind: 'sum', name: 'nginx.connections_accepted', monotonic: true, points: [{ attributes: a, value: s.accepts }] },
          { kind: 'sum', name: 'nginx.connections_handled', monotonic: true, points: [{ attributes: a, value: s.handled }] },
          { kind: 'sum', name: 'nginx.requests', monotonic: true, points: [{ attributes: a, value: s.requests }] },
          upMetric(server, opts.url, true),
        ];
      } catch (err) {
        opts.onError?.(`nginx stub_status ${opts.url}: ${(err as Error).message}`);
        metrics = [upMetric(server, opts.url, false)];
      }
      return [{ resource: opts.resource, scope: 'vigie.collectors.nginx', timeMs: nowMs, startMs: opts.startMs, metrics }];
    },
  };
}

/**
 * Busy application workers from a status reading. When the status page is served by the
 * pool itself, one active process is the poll: without a queue that worker would be
 * idle, so it is not counted; with requests waiting in the listen queue it would have
 * taken one of them, so it is. Without that, a saturated pool of N reads (N-1)/N busy
 * and a worker-saturation rule never sees 100 % (seen in the nginx + PHP-FPM drill).
 */
export function busyWorkers(s: PhpFpmStatus, statusInPool: boolean): number {
  if (!statusInPool || s.listenQueue > 0) return s.active;
  return Math.max(0, s.active - 1);
}

/**
 * PHP-FPM status source. `maxChildren` (pm.max_children) makes `ecampus.workers.max`
 * exact; without it, total processes. `ecampus.workers.busy` is the mean of the polls
 * since the last export (every `sampleMs` and at the export): an instantaneous count of a
 * pool of N moves in steps of 1/N, and a 5-minute trend forecast over such steps swings
 * by tens of percent (measured in the nginx + PHP-FPM drill), whereas utilization is a
 * time average, as CPU utilization is.
 */
export function createPhpFpmStatusSource(
  opts: StatusSourceOptions & {
    readonly faculty: string;
    readonly maxChildren?: number;
    /** The status page is served by a worker of the same pool (the usual set-up), so one active process is the poll itself. */
    readonly statusInPool?: boolean;
    /** Poll between exports this often (ms); 0 = only at the export. */
    readonly sampleMs?: number;
  },
): MetricSource {
  const server = opts.resource['host.name'] ?? '';
  const url = opts.url.includes('json') ? opts.url : `${opts.url}${opts.url.includes('?') ? '&' : '?'}json`;
  const inPool = opts.statusInPool !== false;
  let busySum = 0;
  let busyCount = 0;
  let lastError: string | null = null;
  const poll = async (): Promise<PhpFpmStatus | null> => {
    try {
      const s = parsePhpFpmStatus(await fetchText(opts.fetch ?? fetch, url, opts.timeoutMs ?? 5_000));
      busySum += busyWorkers(s, inPool);
      busyCount++;
      return s;
    } catch (err) {
      lastError = (err as Error).message;
      return null;
    }
  };
  const sampleMs = opts.sampleMs ?? 0;
  return {
    name: `php-fpm ${opts.url}`,
    ...(sampleMs > 0
      ? {
          sampleMs,
          async sample(): Promise<void> {
            await poll();
          },
        }
      : {}),
    async collect(nowMs: number): Promise<PointBatch[]> {
      let metrics: MetricPoints[];
      const s = await poll();
      const busy = busyCount > 0 ? busySum / busyCount : null;
      busySum = 0;
      busyCount = 0;
      if (s !== null && busy !== null) {
        const a = { server, 'php_fpm.pool': s.pool };
        const w = { faculty: opts.faculty, server };
        metrics = [
          { kind: 'gauge', name: 'php_fpm.processes', points: [{ attributes: { ...a, state: 'active' }, value: s.active }, { attributes: { ...a, state: 'idle' }, value: s.idle }] },
          { kind: 'gauge', name: 'php_fpm.listen_queue', description: 'Requests waiting for a free worker', points: [{ attributes: a, value: s.listenQueue }] },
          { kind: 'gauge', name: 'php_fpm.listen_queue.limit', points: [{ attributes: a, value: s.listenQueueLen }] },
          { kind: 'sum', name: 'php_fpm.accepted_connections', monotonic: true, points: [{ attributes: a, value: s.acceptedConn }] },
          { kind: 'sum', name: 'php_fpm.max_children_reached', monotonic: true, points: [{ attributes: a, value: s.maxChildrenReached }] },
          { kind: 'sum', name: 'php_fpm.slow_requests', monotonic: true, points: [{ attributes: a, value: s.slowRequests }] },
          { kind: 'gauge', name: 'ecampus.workers.busy', description: 'Busy application workers (PHP-FPM active processes, mean over the interval)', points: [{ attributes: w, value: busy }] },
          { kind: 'gauge', name: 'ecampus.workers.max', description: 'Application worker pool size (pm.max_children)', points: [{ attributes: w, value: opts.maxChildren ?? s.total }] },
          upMetric(server, opts.url, true),
        ];
      } else {
        opts.onError?.(`PHP-FPM status ${opts.url}: ${lastError ?? 'no reading'}`);
        metrics = [upMetric(server, opts.url, false)];
      }
      return [{ resource: opts.resource, scope: 'vigie.collectors.php_fpm', timeMs: nowMs, startMs: opts.startMs, metrics }];
    },
  };
}
