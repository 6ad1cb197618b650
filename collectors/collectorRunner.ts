/**
 * Assembles the configured sources (access logs, /proc, nginx, PHP-FPM, scrapes) of one
 * `vigie collect` process and exports what they report as OTLP on the transport. The
 * work (`pollLogs`, `exportOnce`) is apart from the scheduling (`start`), so tests and
 * the benchmark drive it by hand. Every export carries the access-log source's saved
 * cumulative snapshot, so the first export after a restart re-sends what a crash may
 * have left undelivered.
 */
import { join } from 'node:path';
import { describeError } from '../core/errors.ts';
import type { TransportProducer } from '../transport/types.ts';
import { createAccessLogSource, type AccessLogSource } from './accessLog/accessLogSource.ts';
import { routeTable, type CollectorsConfig } from './config.ts';
import { createHostSource, type MetricSource } from './hostSignals.ts';
import { batchKey, batchSamples, encodeBatch, type PointBatch } from './pointBatch.ts';
import { createPromScrapeSource } from './promScrape.ts';
import { createNginxStatusSource, createPhpFpmStatusSource } from './serverStatus.ts';

/** Options of {@link createCollectorRunner}. */
export interface CollectorRunnerOptions {
  readonly config: CollectorsConfig;
  readonly producer: TransportProducer;
  readonly topic: string;
  readonly clock?: () => number;
  readonly log?: (line: string) => void;
  readonly fetch?: typeof fetch;
}

/** A configured set of sources. */
export interface CollectorRunner {
  /** Reads new access-log lines (and saves positions); returns the count. */
  pollLogs(): number;
  /** Collects every source and produces the batches; resolves with messages and samples sent. */
  exportOnce(): Promise<{ messages: number; samples: number }>;
  /** Polls logs every `pollMs` and exports every interval until `stop()`. */
  start(): void;
  /** Stops the timers, reads the logs a last time and exports once more. */
  stop(): Promise<void>;
  readonly accessLog: AccessLogSource | null;
}

/** Builds the sources of `config`. */
export function createCollectorRunner(opts: CollectorRunnerOptions): CollectorRunner {
  const cfg = opts.config;
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const resource = { 'service.name': cfg.service, 'host.name': cfg.host };
  const startMs = clock();
  const sources: MetricSource[] = [];
  const fetchOpt = opts.fetch ? { fetch: opts.fetch } : {};
  if (cfg.hostMetrics) sources.push(createHostSource({ resource, ...(cfg.listenPorts ? { listenPorts: cfg.listenPorts } : {}) }));
  for (const n of cfg.nginxStatus) sources.push(createNginxStatusSource({ url: n.url, resource, startMs, onError: log, ...fetchOpt }));
  for (const p of cfg.phpFpm) {
    sources.push(
      createPhpFpmStatusSource({
        url: p.url,
        resource,
        startMs,
        faculty: p.faculty,
        statusInPool: p.statusInPool,
        sampleMs: p.sampleMs,
        ...(p.maxChildren !== undefined ? { maxChildren: p.maxChildren } : {}),
        onError: log,
        ...fetchOpt,
      }),
    );
  }
  for (const s of cfg.scrape) {
    sources.push(
      createPromScrapeSource({ url: s.url, startMs, onError: log, ...(s.job ? { job: s.job } : {}), ...(s.instance ? { instance: s.instance } : {}), ...fetchOpt }),
    );
  }
  const a = cfg.accessLogs;
  const accessLog = a
    ? createAccessLogSource({
        files: a.files.map((f) => ({ path: f.path, format: f.format, ...(f.rotatedPaths ? { rotatedPaths: f.rotatedPaths } : {}) })),
        routes: routeTable(cfg),
        sessions: { windowSeconds: a.sessions.windowSeconds, ...(a.sessions.cookie ? { cookie: a.sessions.cookie } : {}) },
        statePath: join(cfg.stateDir, 'accesslog-state.json'),
        resource,
        ...(cfg.capacity ? { capacity: cfg.capacity } : {}),
        clock,
        log,
      })
    : null;
  if (accessLog === null && cfg.capacity) {
    sources.push({
      name: 'capacity',
      collect: async (nowMs) => [
        {
          resource,
          scope: 'vigie.collectors.capacity',
          timeMs: nowMs,
          metrics: [{ kind: 'gauge', name: 'ecampus.capacity.sessions', points: Object.entries(cfg.capacity!).map(([faculty, value]) => ({ attributes: { faculty, server: cfg.host }, value })) }],
        },
      ],
    });
  }

  const sampleTimers: NodeJS.Timeout[] = [];
  let pollTimer: NodeJS.Timeout | null = null;
  let exportTimer: NodeJS.Timeout | null = null;
  let exporting: Promise<unknown> = Promise.resolve();

  const pollLogs = (): number => {
    if (accessLog === null) return 0;
    try {
      return accessLog.poll();
    } catch (err) {
      log(`[collect] reading access logs failed: ${describeError(err)}`);
      return 0;
    }
  };

  const exportOnce = async (): Promise<{ messages: number; samples: number }> => {
    const now = clock();
    const batches: PointBatch[] = [];
    const results = await Promise.allSettled(sources.map((s) => s.collect(now)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') batches.push(...r.value);
      else log(`[collect] source ${sources[i]!.name} failed: ${describeError(r.reason)}`);
    });
    if (accessLog !== null) batches.push(accessLog.snapshot());
    const nonEmpty = batches.filter((b) => b.metrics.some((m) => m.points.length > 0));
    const messages = nonEmpty.map((b) => ({ key: batchKey(b), value: encodeBatch(b) }));
    if (messages.length > 0) await opts.producer.send(opts.topic, messages);
    return { messages: messages.length, samples: nonEmpty.reduce((n, b) => n + batchSamples(b), 0) };
  };

  const safeExport = () => {
    exporting = exporting.then(exportOnce).catch((err: unknown) => log(`[collect] export failed: ${describeError(err)}`));
    return exporting;
  };

  return {
    accessLog,
    pollLogs,
    exportOnce,
    start(): void {
      pollLogs();
      void safeExport(); // at once: re-sends the saved snapshot after a restart
      if (accessLog !== null) pollTimer = setInterval(pollLogs, a!.pollMs);
      exportTimer = setInterval(() => void safeExport(), cfg.intervalSeconds * 1000);
      for (const s of sources) {
        if (s.sample === undefined || !(s.sampleMs! > 0) || s.sampleMs! >= cfg.intervalSeconds * 1000) continue;
        let busy = false; // a slow status page must not pile up polls
        sampleTimers.push(
          setInterval(() => {
            if (busy) return;
            busy = true;
            void s.sample!(clock()).finally(() => (busy = false));
          }, s.sampleMs),
        );
      }
    },
    async stop(): Promise<void> {
      for (const t of sampleTimers) clearInterval(t);
      if (pollTimer) clearInterval(pollTimer);
      if (exportTimer) clearInterval(exportTimer);
      await exporting;
      pollLogs();
      await safeExport();
      accessLog?.close();
    },
  };
}
