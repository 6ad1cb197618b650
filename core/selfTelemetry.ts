/**
 * Self-monitoring: every long-running Vigie process exposes its own metrics on a
 * Prometheus endpoint. `startSelfTelemetry` installs the global MeterProvider once;
 * stages only ever use `selfMeter(name)` (the @opentelemetry/api global meter).
 *
 * Why a deferred meter: unlike traces, the metrics API has no proxy provider, so an
 * instrument created from `metrics.getMeter()` before the SDK is installed stays a no-op
 * forever. `selfMeter` returns instruments that re-bind when self-telemetry starts/stops,
 * so modules may create their instruments at load time.
 */
import {
  metrics,
  type Attributes,
  type BatchObservableCallback,
  type Context,
  type Meter,
  type MetricOptions,
  type Observable,
  type ObservableCallback,
} from '@opentelemetry/api';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
// The SDK and exporter load only when a process starts its endpoint (startSelfTelemetry):
// a collector without --metrics-port keeps ~15 MB of modules out of its RSS.
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ConfigError, UnavailableError } from './errors.ts';

/** Options of `startSelfTelemetry`. */
export interface SelfTelemetryOptions {
  /** TCP port of the `/metrics` endpoint, 1..65535 (the exporter would turn 0 into its default 9464). */
  readonly port: number;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** `service.name` of the process (e.g. `vigie-pipeline`). */
  readonly serviceName: string;
  /** When set, a scrape must send `Authorization: Bearer <token>` (else 401): for an endpoint bound beyond loopback. */
  readonly bearerToken?: string | undefined;
}

/** A started self-telemetry endpoint. */
export interface SelfTelemetry {
  /** Scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops the endpoint and removes the global MeterProvider. */
  shutdown(): Promise<void>;
}

/**
 * Starts the Prometheus endpoint and installs the global MeterProvider. The resource is
 * set explicitly (service.name only) so no argv, executable path or host name leaks
 * into `target_info`.
 */
export async function startSelfTelemetry(opts: SelfTelemetryOptions): Promise<SelfTelemetry> {
  const host = opts.host ?? '127.0.0.1';
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new ConfigError(`self-telemetry port must be an integer in 1..65535, got ${String(opts.port)}`);
  }
  let startError: Error | undefined;
  const [{ PrometheusExporter }, { resourceFromAttributes }, { MeterProvider }] = await Promise.all([
    import('@opentelemetry/exporter-prometheus'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-metrics'),
  ]);
  const exporter = new PrometheusExporter({ host, port: opts.port, preventServerStart: true });
  let server: Server | undefined;
  try {
    if (opts.bearerToken === undefined) await exporter.startServer();
    else server = await listenWithToken(exporter, host, opts.port, opts.bearerToken);
  } catch (err) {
    startError = err instanceof Error ? err : new Error(String(err));
  }
  if (startError !== undefined) {
    throw new UnavailableError(
      `self-telemetry endpoint could not listen on ${host}:${opts.port}; choose another --metrics-port`,
      { cause: startError, retriable: false },
    );
  }
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    readers: [exporter],
  });
  metrics.disable();
  metrics.setGlobalMeterProvider(provider);
  rebindAll();
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${opts.port}/metrics`,
    async shutdown(): Promise<void> {
      metrics.disable();
      rebindAll();
      await provider.shutdown();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
    },
  };
}

/** The exporter's handler behind a bearer-token check (compared in constant time). */
async function listenWithToken(exporter: PrometheusExporter, host: string, port: number, token: string): Promise<Server> {
  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((req, res) => {
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="vigie"' }).end('unauthorized: send Authorization: Bearer <selfTelemetry token>\n');
      return;
    }
    if (!req.url?.startsWith('/metrics')) {
      res.writeHead(404).end('not found: scrape /metrics\n');
      return;
    }
    exporter.getMetricsRequestHandler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** An instrument that forwards to whatever the current global provider gives it. */
interface Rebindable {
  rebind(): void;
}
const registry = new Set<Rebindable>();

function rebindAll(): void {
  for (const r of registry) r.rebind();
}

type SyncKind = 'createCounter' | 'createUpDownCounter' | 'createHistogram' | 'createGauge';
type AsyncKind = 'createObservableGauge' | 'createObservableCounter' | 'createObservableUpDownCounter';
interface SyncTarget {
  add?(value: number, attributes?: Attributes, context?: Context): void;
  record?(value: number, attributes?: Attributes, context?: Context): void;
}

class DeferredSync implements Rebindable {
  private target!: SyncTarget;
  private readonly meterName: string;
  private readonly kind: SyncKind;
  private readonly name: string;
  private readonly options: MetricOptions | undefined;
  constructor(
    meterName: string,
    kind: SyncKind,
    name: string,
    options: MetricOptions | undefined,
  ) {
    this.meterName = meterName;
    this.kind = kind;
    this.name = name;
    this.options = options;
    this.rebind();
    registry.add(this);
  }
  rebind(): void {
    this.target = metrics.getMeter(this.meterName)[this.kind](this.name, this.options) as SyncTarget;
  }
  add(value: number, attributes?: Attributes, context?: Context): void {
    this.target.add?.(value, attributes, context);
  }
  record(value: number, attributes?: Attributes, context?: Context): void {
    this.target.record?.(value, attributes, context);
  }
}

class DeferredObservable implements Rebindable, Observable {
  target!: Observable;
  private readonly callbacks = new Set<ObservableCallback>();
  private readonly meterName: string;
  private readonly kind: AsyncKind;
  private readonly name: string;
  private readonly options: MetricOptions | undefined;
  constructor(
    meterName: string,
    kind: AsyncKind,
    name: string,
    options: MetricOptions | undefined,
  ) {
    this.meterName = meterName;
    this.kind = kind;
    this.name = name;
    this.options = options;
    this.rebind();
    registry.add(this);
  }
  rebind(): void {
    this.target = metrics.getMeter(this.meterName)[this.kind](this.name, this.options);
    for (const cb of this.callbacks) this.target.addCallback(cb);
  }
  addCallback(cb: ObservableCallback): void {
    this.callbacks.add(cb);
    this.target.addCallback(cb);
  }
  removeCallback(cb: ObservableCallback): void {
    this.callbacks.delete(cb);
    this.target.removeCallback(cb);
  }
}

class DeferredBatch implements Rebindable {
  private bound: { meter: Meter; cb: BatchObservableCallback; targets: Observable[] } | undefined;
  private readonly meterName: string;
  private readonly callback: BatchObservableCallback;
  private readonly observables: readonly Observable[];
  constructor(
    meterName: string,
    callback: BatchObservableCallback,
    observables: readonly Observable[],
  ) {
    this.meterName = meterName;
    this.callback = callback;
    this.observables = observables;
    this.rebind();
    registry.add(this);
  }
  rebind(): void {
    const meter = metrics.getMeter(this.meterName);
    const targets = this.observables.map((o) => (o instanceof DeferredObservable ? o.target : o));
    const cb: BatchObservableCallback = (result) =>
      this.callback({
        observe: (o, value, attributes) => result.observe(o instanceof DeferredObservable ? o.target : o, value, attributes),
      });
    meter.addBatchObservableCallback(cb, targets);
    this.bound = { meter, cb, targets };
  }
  matches(callback: BatchObservableCallback, observables: readonly Observable[]): boolean {
    return callback === this.callback && observables.every((o, i) => o === this.observables[i]);
  }
  remove(): void {
    if (this.bound !== undefined) this.bound.meter.removeBatchObservableCallback(this.bound.cb, this.bound.targets);
    registry.delete(this);
  }
}

/**
 * The meter stages record their own metrics on. Instruments are no-ops until
 * self-telemetry starts and follow the global provider when it starts or stops.
 */
export function selfMeter(name: string): Meter {
  const batches: DeferredBatch[] = [];
  const meter = {
    createCounter: (n: string, o?: MetricOptions) => new DeferredSync(name, 'createCounter', n, o),
    createUpDownCounter: (n: string, o?: MetricOptions) => new DeferredSync(name, 'createUpDownCounter', n, o),
    createHistogram: (n: string, o?: MetricOptions) => new DeferredSync(name, 'createHistogram', n, o),
    createGauge: (n: string, o?: MetricOptions) => new DeferredSync(name, 'createGauge', n, o),
    createObservableGauge: (n: string, o?: MetricOptions) => new DeferredObservable(name, 'createObservableGauge', n, o),
    createObservableCounter: (n: string, o?: MetricOptions) => new DeferredObservable(name, 'createObservableCounter', n, o),
    createObservableUpDownCounter: (n: string, o?: MetricOptions) =>
      new DeferredObservable(name, 'createObservableUpDownCounter', n, o),
    addBatchObservableCallback: (cb: BatchObservableCallback, observables: Observable[]) => {
      batches.push(new DeferredBatch(name, cb, observables));
    },
    removeBatchObservableCallback: (cb: BatchObservableCallback, observables: Observable[]) => {
      const i = batches.findIndex((b) => b.matches(cb, observables));
      if (i >= 0) batches.splice(i, 1)[0]!.remove();
    },
  };
  return meter as unknown as Meter;
}
