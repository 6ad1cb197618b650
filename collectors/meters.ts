/**
 * The e-Campus metric contract as OpenTelemetry instruments. Counters and the latency
 * histogram are recorded synchronously; every gauge is observable and reads a mutable
 * `EcampusState` that the simulator or a real probe updates between collections.
 */
import type { Attributes, Counter, Histogram, Meter, ObservableResult } from '@opentelemetry/api';

/** Bucket boundaries (seconds) of `http.server.request.duration`; rules depend on them. */
export const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30,
] as const;

/** One observed value with its attributes; the owner mutates `value` in place. */
export interface GaugeCell {
  readonly attributes: Attributes;
  value: number;
}

/** A set of gauge cells keyed by their attribute values; observed as-is at collection. */
export class GaugeTable {
  private readonly cells = new Map<string, GaugeCell>();

  /** Returns the cell for these attributes, creating it (value 0) the first time. */
  cell(attributes: Attributes): GaugeCell {
    const key = attributeKey(attributes);
    let c = this.cells.get(key);
    if (c === undefined) {
      c = { attributes: { ...attributes }, value: 0 };
      this.cells.set(key, c);
    }
    return c;
  }

  /** Sets the value of the cell with these attributes. */
  set(attributes: Attributes, value: number): void {
    this.cell(attributes).value = value;
  }

  /** All cells, in creation order. */
  values(): IterableIterator<GaugeCell> {
    return this.cells.values();
  }

  /** Reports every cell to an OTel observable callback. */
  observe(result: ObservableResult): void {
    for (const c of this.cells.values()) result.observe(c.value, c.attributes);
  }
}

function attributeKey(a: Attributes): string {
  const names = Object.keys(a).sort();
  let out = '';
  for (const n of names) out += n + '=' + String(a[n]) + '\u0000';
  return out;
}

/** Values the observable gauges report; one table per metric of the contract. */
export interface EcampusState {
  /** `ecampus.sessions.active` {faculty, exam.id, server} */
  readonly sessionsActive: GaugeTable;
  /** `ecampus.capacity.sessions` {faculty, server} */
  readonly capacitySessions: GaugeTable;
  /** `http.server.active_requests` {faculty, server} */
  readonly activeRequests: GaugeTable;
  /** `db.client.connections.usage` {db.client.connections.state, db.client.connections.pool.name} */
  readonly dbConnectionsUsage: GaugeTable;
  /** `db.client.connections.max` {db.client.connections.pool.name} */
  readonly dbConnectionsMax: GaugeTable;
  /** `system.network.connections` {server, network.connection.state} */
  readonly networkConnections: GaugeTable;
  /** `system.cpu.utilization` {server, faculty} */
  readonly cpuUtilization: GaugeTable;
  /** `ecampus.workers.busy` {faculty, server} */
  readonly workersBusy: GaugeTable;
  /** `ecampus.workers.max` {faculty, server} */
  readonly workersMax: GaugeTable;
}

/** Creates an empty state (no series until a cell is set). */
export function createEcampusState(): EcampusState {
  return {
    sessionsActive: new GaugeTable(),
    capacitySessions: new GaugeTable(),
    activeRequests: new GaugeTable(),
    dbConnectionsUsage: new GaugeTable(),
    dbConnectionsMax: new GaugeTable(),
    networkConnections: new GaugeTable(),
    cpuUtilization: new GaugeTable(),
    workersBusy: new GaugeTable(),
    workersMax: new GaugeTable(),
  };
}

/** Typed handles on the synchronous instruments, plus the state behind the gauges. */
export interface EcampusInstruments {
  /** `ecampus.logins` {faculty, exam.id, outcome=success|failure} */
  readonly logins: Counter;
  /** `http.server.request.duration` (s) {faculty, exam.id?, http.route, http.request.method, http.response.status_code} */
  readonly requestDuration: Histogram;
  readonly state: EcampusState;
}

/**
 * Creates the e-Campus instruments on `meter`. Gauges observe `state` (a fresh one
 * unless given), so whoever owns the state decides what each collection reports.
 */
export function createEcampusInstruments(meter: Meter, state: EcampusState = createEcampusState()): EcampusInstruments {
  const gauge = (name: string, table: GaugeTable, description: string, unit?: string): void => {
    meter
      .createObservableGauge(name, unit === undefined ? { description } : { description, unit })
      .addCallback((r) => table.observe(r));
  };
  const upDown = (name: string, table: GaugeTable, description: string, unit?: string): void => {
    meter
      .createObservableUpDownCounter(name, unit === undefined ? { description } : { description, unit })
      .addCallback((r) => table.observe(r));
  };
  upDown('ecampus.sessions.active', state.sessionsActive, 'Open exam sessions');
  gauge('ecampus.capacity.sessions', state.capacitySessions, 'Tested session capacity of the server');
  upDown('http.server.active_requests', state.activeRequests, 'Requests in flight');
  gauge('db.client.connections.usage', state.dbConnectionsUsage, 'Database pool connections by state');
  gauge('db.client.connections.max', state.dbConnectionsMax, 'Database pool size');
  gauge('system.network.connections', state.networkConnections, 'TCP connections by state');
  gauge('system.cpu.utilization', state.cpuUtilization, 'CPU utilization (0..1)', '1');
  gauge('ecampus.workers.busy', state.workersBusy, 'Busy application workers');
  gauge('ecampus.workers.max', state.workersMax, 'Application worker pool size');

  const logins = meter.createCounter('ecampus.logins', { description: 'Login attempts by outcome' });
  const requestDuration = meter.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests',
    unit: 's',
    advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
  });
  return { logins, requestDuration, state };
}
