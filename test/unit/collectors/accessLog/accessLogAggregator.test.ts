import { describe, expect, it } from 'vitest';
import { AccessLogAggregator, resolveRoute, type RouteTable } from '../../../../collectors/accessLog/accessLogAggregator.ts';
import type { AccessLogRecord } from '../../../../collectors/accessLog/logFormat.ts';

const table: RouteTable = {
  rules: [
    { pattern: /^\/login\/index\.php/, route: '/login/index.php', login: true },
    { pattern: /^\/mod\/quiz\/attempt\.php\?.*\bcmid=(?<exam>\d+)/, route: '/mod/quiz/attempt.php' },
    { pattern: /^\/course\/view\.php\?id=(?<course>\d+)/, route: '/course/view.php' },
    { pattern: /^\/(?<faculty>law|medicine)\//, route: '/{faculty}/*' },
  ],
  courseFaculty: { '42': 'law' },
  defaultFaculty: 'unknown',
  loginSuccessStatuses: [303],
};
const T = Date.UTC(2026, 11, 7, 9);
const rec = (over: Partial<AccessLogRecord>): AccessLogRecord => ({ method: 'GET', uri: '/', status: 200, durationSeconds: 0.1, timeMs: T, remoteUser: '-', cookies: {}, ...over });

describe('route table', () => {
  it('maps URL patterns, course ids and named groups to route, faculty and exam', () => {
    expect(resolveRoute(table, '/course/view.php?id=42')).toEqual({ route: '/course/view.php', faculty: 'law', exam: '', login: false });
    expect(resolveRoute(table, '/course/view.php?id=7')).toMatchObject({ faculty: 'unknown' });
    expect(resolveRoute(table, '/mod/quiz/attempt.php?attempt=3&cmid=99')).toMatchObject({ exam: '99' });
    expect(resolveRoute(table, '/medicine/x')).toMatchObject({ faculty: 'medicine', route: '/{faculty}/*' });
    expect(resolveRoute(table, '/favicon.ico')).toMatchObject({ route: 'other' });
  });
});

describe('access-log aggregation', () => {
  it('builds the duration histogram, login outcomes and sliding-window sessions under the contract names', () => {
    const a = new AccessLogAggregator(table, { cookie: 'S', windowSeconds: 60 });
    a.add(rec({ method: 'POST', uri: '/login/index.php', status: 303, durationSeconds: 0.3, cookies: { S: 'a' } }), T);
    a.add(rec({ method: 'POST', uri: '/login/index.php', status: 200, durationSeconds: 0.2, cookies: { S: 'b' } }), T);
    a.add(rec({ uri: '/login/index.php', status: 200 }), T); // GET of the form: not an attempt
    a.add(rec({ uri: '/course/view.php?id=42', status: 503, durationSeconds: 12, cookies: { S: 'a' }, timeMs: T + 1000 }), T);
    a.add(rec({ uri: '/medicine/y', cookies: { S: 'c' }, timeMs: T - 120_000 }), T);
    a.unparsed();
    const seen = new Set<string>();
    const m = a.metrics(T + 5_000, 'web-1', seen);
    const hist = m.find((x) => x.name === 'http.server.request.duration');
    if (hist?.kind !== 'histogram') throw new Error('no histogram');
    const law503 = hist.points.find((p) => p.attributes['http.response.status_code'] === '503')!;
    expect(law503.attributes).toEqual({ faculty: 'law', 'http.route': '/course/view.php', 'http.request.method': 'GET', 'http.response.status_code': '503' });
    expect(law503.count).toBe(1);
    expect(law503.bucketCounts[law503.bucketCounts.length - 2]).toBe(1); // (10, 30]
    expect(hist.points.reduce((n, p) => n + p.count, 0)).toBe(5);
    const logins = m.find((x) => x.name === 'ecampus.logins')!;
    expect(logins.points.map((p) => [p.attributes['outcome'], 'value' in p ? p.value : -1]).sort()).toEqual([['failure', 1], ['success', 1]]);
    const sessions = m.find((x) => x.name === 'ecampus.sessions.active')!;
    // 'a' moved to law; 'b' only saw the login page (unknown); 'c' is outside the 60 s window.
    expect(sessions.points.map((p) => `${p.attributes['faculty']}=${'value' in p ? p.value : ''}`).sort()).toEqual(['law=1', 'unknown=1']);
    expect(m.find((x) => x.name === 'vigie.accesslog.lines')!.points.map((p) => `${p.attributes['outcome']}=${'value' in p ? p.value : ''}`).sort()).toEqual(['parsed=5', 'unparsed=1']);
    // Later, every session expired: the gauge reports 0 rather than going stale.
    const later = a.metrics(T + 600_000, 'web-1', seen).find((x) => x.name === 'ecampus.sessions.active')!;
    expect(later.points.map((p) => ('value' in p ? p.value : -1))).toEqual([0, 0]);
  });

  it('state round-trips through JSON (what the tailer persists)', () => {
    const a = new AccessLogAggregator(table, { windowSeconds: 60 });
    a.add(rec({ remoteUser: 'u1' }), T);
    const b = new AccessLogAggregator(table, { windowSeconds: 60 }, JSON.parse(JSON.stringify(a.state)));
    b.add(rec({ remoteUser: 'u2' }), T);
    const h = b.metrics(T, 's', new Set()).find((x) => x.name === 'http.server.request.duration');
    expect(h?.kind === 'histogram' && h.points[0]!.count).toBe(2);
  });
});
