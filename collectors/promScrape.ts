/**
 * Generic Prometheus scrape: GET any `/metrics` endpoint (database exporters, JVM
 * agents, an application's own metrics) and turn its samples into OTLP, names and
 * labels kept as the target exposes them (see `promSamplesToBatches`), with `job` and
 * `instance` as the resource like a Prometheus scrape would label them. Lines that do
 * not parse are counted in `vigie.scrape.errors` and logged.
 */
import { VigieError } from '../core/errors.ts';
import type { MetricSource } from './hostSignals.ts';
import type { PointBatch } from './pointBatch.ts';
import { parseExposition } from './promText.ts';
import { promSamplesToBatches } from './remoteWrite.ts';

/** Options of {@link createPromScrapeSource}. */
export interface PromScrapeOptions {
  readonly url: string;
  /** `job` label (→ `service.name`); default `scrape`. */
  readonly job?: string;
  /** `instance` label (→ `host.name`); default the URL's host:port. */
  readonly instance?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly startMs: number;
  readonly onError?: (message: string) => void;
}

/** The scrape source. */
export function createPromScrapeSource(opts: PromScrapeOptions): MetricSource {
  const job = opts.job ?? 'scrape';
  const instance = opts.instance ?? new URL(opts.url).host;
  const resource = { 'service.name': job, 'host.name': instance };
  let errors = 0;
  return {
    name: `scrape ${opts.url}`,
    async collect(nowMs: number): Promise<PointBatch[]> {
      let up = 1;
      let batches: PointBatch[] = [];
      try {
        const res = await (opts.fetch ?? fetch)(opts.url, {
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
          headers: { accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4' },
        });
        const text = await res.text();
        if (!res.ok) throw new VigieError(`GET ${opts.url} answered ${res.status}: ${text.slice(0, 120)}`);
        const flavour = (res.headers.get('content-type') ?? '').includes('openmetrics') ? 'openmetrics' : 'prometheus';
        const parsed = parseExposition(text, { flavour, defaultTimestampMs: nowMs });
        errors += parsed.errors.length;
        for (const e of parsed.errors.slice(0, 3)) opts.onError?.(`scrape ${opts.url} line ${e.line}: ${e.reason}: ${e.text}`);
        batches = promSamplesToBatches(
          parsed.samples.map((s) => ({ ...s, labels: { ...s.labels, job, instance } })),
          { resource, nowMs, scope: 'vigie.collectors.scrape', startMs: opts.startMs },
        );
      } catch (err) {
        up = 0;
        opts.onError?.(`scrape ${opts.url}: ${(err as Error).message}`);
      }
      batches.push({
        resource,
        scope: 'vigie.collectors.scrape',
        timeMs: nowMs,
        startMs: opts.startMs,
        metrics: [
          { kind: 'gauge', name: 'up', points: [{ attributes: {}, value: up }] },
          { kind: 'sum', name: 'vigie.scrape.errors', monotonic: true, description: 'Exposition lines that did not parse', points: [{ attributes: {}, value: errors }] },
        ],
      });
      return batches;
    },
  };
}
