/**
 * Turns parsed access-log records into the telemetry contract: the request-duration
 * histogram (`http.server.request.duration`, seconds, by faculty, exam, route, method,
 * status — error counts are its 5xx counts), login attempts by outcome
 * (`ecampus.logins`), active sessions (`ecampus.sessions.active`: distinct session
 * cookies or users seen in a sliding window) and the configured capacity. A route table
 * maps URLs to `http.route`, faculty and exam. The state is plain data that serializes
 * to JSON, so the tailer persists it with its file positions and a restart continues
 * the same cumulative series instead of counting lines twice.
 */
import { HTTP_DURATION_BUCKETS } from '../meters.ts';
import type { HistogramPoint, MetricPoints, NumberPoint } from '../pointBatch.ts';
import type { AccessLogRecord } from './logFormat.ts';

/** One row of the route table. Named groups `faculty`, `course` and `exam` in `pattern` are read. */
export interface RouteRule {
  readonly pattern: RegExp;
  /** `http.route` reported for matching requests (low cardinality, e.g. `/mod/quiz/attempt.php`). */
  readonly route: string;
  readonly faculty?: string;
  readonly exam?: string;
  /** Requests that are login attempts (non-GET); outcome from the status. */
  readonly login?: boolean;
}

/** How URLs map to the contract's attributes. */
export interface RouteTable {
  readonly rules: readonly RouteRule[];
  /** Course (or exam) id captured by `(?<course>…)` → faculty. */
  readonly courseFaculty: Readonly<Record<string, string>>;
  readonly defaultFaculty: string;
  /** Statuses of a successful login POST (Moodle redirects on success, re-renders the form on failure). */
  readonly loginSuccessStatuses: readonly number[];
}

/** Session counting. */
export interface SessionOptions {
  /** Cookie whose distinct values are sessions (needs `$cookie_NAME` in the format); else `$remote_user`. */
  readonly cookie?: string;
  readonly windowSeconds: number;
}

/** Serializable aggregation state (cumulative since the tailer's start time). */
export interface AggregatorState {
  /** key → [faculty, exam, route, method, status, bucketCounts, sum, count] */
  histograms: Record<string, [string, string, string, string, string, number[], number, number]>;
  /** key → [faculty, exam, outcome, count] */
  logins: Record<string, [string, string, string, number]>;
  /** session id → [lastSeenMs, faculty, exam] */
  sessions: Record<string, [number, string, string]>;
  /** Lines by outcome: parsed, unparsed. */
  lines: Record<string, number>;
}

/** An empty state. */
export function emptyAggregatorState(): AggregatorState {
  return { histograms: {}, logins: {}, sessions: {}, lines: {} };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const BOUNDS = [...HTTP_DURATION_BUCKETS];

/** Route, faculty, exam and login flag of a URI. */
export function resolveRoute(table: RouteTable, uri: string): { route: string; faculty: string; exam: string; login: boolean } {
  for (const r of table.rules) {
    const m = r.pattern.exec(uri);
    if (!m) continue;
    const g = m.groups ?? {};
    const course = g['course'];
    const faculty = r.faculty ?? g['faculty'] ?? (course !== undefined ? table.courseFaculty[course] : undefined) ?? table.defaultFaculty;
    const exam = r.exam ?? g['exam'] ?? '';
    return { route: r.route, faculty, exam, login: r.login === true };
  }
  return { route: 'other', faculty: table.defaultFaculty, exam: '', login: false };
}

/** Aggregates records into `state` (mutated in place). */
export class AccessLogAggregator {
  readonly state: AggregatorState;
  private readonly table: RouteTable;
  private readonly sessions: SessionOptions;

  constructor(table: RouteTable, sessions: SessionOptions, state: AggregatorState = emptyAggregatorState()) {
    this.table = table;
    this.sessions = sessions;
    this.state = state;
  }

  /** Counts a line that did not match the format. */
  unparsed(): void {
    this.state.lines['unparsed'] = (this.state.lines['unparsed'] ?? 0) + 1;
  }

  /** Adds one request; `nowMs` dates it when the log line carries no time. */
  add(r: AccessLogRecord, nowMs: number): void {
    this.state.lines['parsed'] = (this.state.lines['parsed'] ?? 0) + 1;
    const { route, faculty, exam, login } = resolveRoute(this.table, r.uri);
    const method = METHODS.has(r.method) ? r.method : '_OTHER';
    const status = String(r.status);
    const hk = `${faculty}\u0000${exam}\u0000${route}\u0000${method}\u0000${status}`;
    let h = this.state.histograms[hk];
    if (h === undefined) this.state.histograms[hk] = h = [faculty, exam, route, method, status, new Array<number>(BOUNDS.length + 1).fill(0), 0, 0];
    const d = Number.isFinite(r.durationSeconds) ? Math.max(0, r.durationSeconds) : 0;
    let b = 0;
    while (b < BOUNDS.length && d > BOUNDS[b]!) b++;
    h[5][b]!++;
    h[6] += d;
    h[7]++;
    if (login && method !== 'GET' && method !== 'HEAD') {
      const outcome = this.table.loginSuccessStatuses.includes(r.status) ? 'success' : 'failure';
      const lk = `${faculty}\u0000${exam}\u0000${outcome}`;
      const l = (this.state.logins[lk] ??= [faculty, exam, outcome, 0]);
      l[3]++;
    }
    const id = this.sessions.cookie !== undefined ? r.cookies[this.sessions.cookie] : r.remoteUser !== '-' && r.remoteUser !== '' ? r.remoteUser : undefined;
    if (id !== undefined) {
      const t = Number.isFinite(r.timeMs) ? r.timeMs : nowMs;
      const prev = this.state.sessions[id];
      // A session keeps the faculty it was last seen in; generic pages do not reset it.
      const fac = faculty === this.table.defaultFaculty && prev ? prev[1] : faculty;
      const ex = exam === '' && prev ? prev[2] : exam;
      if (!prev || prev[0] <= t) this.state.sessions[id] = [t, fac, ex];
    }
  }

  /** Drops sessions idle past the window; returns what is active per faculty/exam. */
  activeSessions(nowMs: number): Map<string, { faculty: string; exam: string; n: number }> {
    const cutoff = nowMs - this.sessions.windowSeconds * 1000;
    const out = new Map<string, { faculty: string; exam: string; n: number }>();
    for (const [id, [t, faculty, exam]] of Object.entries(this.state.sessions)) {
      if (t < cutoff) {
        delete this.state.sessions[id];
        continue;
      }
      const k = `${faculty}\u0000${exam}`;
      const c = out.get(k);
      if (c) c.n++;
      else out.set(k, { faculty, exam, n: 1 });
    }
    return out;
  }

  /** The contract metrics at `nowMs` (cumulative histogram and logins, session gauge). */
  metrics(nowMs: number, server: string, seenFaculties: Set<string>): MetricPoints[] {
    const withExam = (a: Record<string, string>, exam: string) => (exam === '' ? a : { ...a, 'exam.id': exam });
    const hist: HistogramPoint[] = Object.values(this.state.histograms).map(([faculty, exam, route, method, status, bucketCounts, sum, count]) => ({
      attributes: withExam({ faculty, 'http.route': route, 'http.request.method': method, 'http.response.status_code': status }, exam),
      bucketCounts,
      sum,
      count,
    }));
    const logins: NumberPoint[] = Object.values(this.state.logins).map(([faculty, exam, outcome, n]) => ({
      attributes: withExam({ faculty, outcome }, exam),
      value: n,
    }));
    const active = this.activeSessions(nowMs);
    const sessions: NumberPoint[] = [];
    for (const { faculty, exam, n } of active.values()) {
      seenFaculties.add(`${faculty}\u0000${exam}`);
      sessions.push({ attributes: withExam({ faculty, server }, exam), value: n });
    }
    // Report 0 for what was active before, so the gauge falls instead of going stale.
    for (const k of seenFaculties) {
      if (active.has(k)) continue;
      const [faculty, exam] = k.split('\u0000') as [string, string];
      sessions.push({ attributes: withExam({ faculty, server }, exam), value: 0 });
    }
    // Both outcomes from the start: a counter that appears at 0 makes the first increase visible to rate().
    const lines: NumberPoint[] = ['parsed', 'unparsed'].map((outcome) => ({ attributes: { outcome }, value: this.state.lines[outcome] ?? 0 }));
    return [
      { kind: 'histogram', name: 'http.server.request.duration', unit: 's', description: 'Duration of HTTP server requests (access log)', bounds: BOUNDS, points: hist },
      { kind: 'sum', name: 'ecampus.logins', monotonic: true, description: 'Login attempts by outcome (access log)', points: logins },
      { kind: 'sum', name: 'ecampus.sessions.active', monotonic: false, description: 'Distinct sessions seen in the sliding window', points: sessions },
      { kind: 'sum', name: 'vigie.accesslog.lines', monotonic: true, description: 'Access-log lines read, by outcome', points: lines },
    ];
  }
}
