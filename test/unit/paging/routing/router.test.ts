import { describe, expect, it } from 'vitest';
import { parsePagingConfig } from '../../../../paging/routing/config.ts';
import { resolveRoute, matchRoutes } from '../../../../paging/routing/route.ts';
import { createRouter, type Dispatch } from '../../../../paging/routing/router.ts';
import type { Notification, ReceiverTraits } from '../../../../paging/receivers/types.ts';
import type { SilenceIndex } from '../../../../paging/routing/silences.ts';
import { fingerprint } from '../../../../core/samples.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
const PD: ReceiverTraits = { raw: false, granularity: 'alert', dedupes: true };
const CHAT: ReceiverTraits = { raw: false, granularity: 'group', dedupes: false };
const AM: ReceiverTraits = { raw: true, granularity: 'alert', dedupes: true, resendIntervalMs: 60_000 };

function alert(labels: Record<string, string>, status: 'firing' | 'resolved', startsAt: number, endsAt?: number): Notification {
  const l = { alertname: 'FacultySessionsAtCapacity', severity: 'page', ...labels };
  return { fingerprint: fingerprint(l.alertname, l), status, labels: l, annotations: { summary: 'x' }, startsAt, ...(endsAt !== undefined ? { endsAt } : {}), generatorURL: 'http://vigie', value: 0.97 };
}

function routerFor(yaml: Record<string, unknown>, receivers: Record<string, ReceiverTraits>, silences?: SilenceIndex) {
  const cfg = parsePagingConfig(yaml);
  return createRouter({ route: resolveRoute(cfg.route, Object.keys(receivers)[0]!), receivers: new Map(Object.entries(receivers)), inhibitRules: cfg.inhibit_rules, resolveHoldMs: cfg.resolve_hold, ...(silences ? { silences } : {}) });
}

const receiversCfg = [
  { name: 'pd', type: 'pagerduty', routing_key: 'k' },
  { name: 'chat', type: 'slack', url: 'https://hooks.example/x' },
  { name: 'am', type: 'alertmanager', url: 'http://am:9093' },
];

describe('routes', () => {
  it('first matching child wins unless continue; children inherit timing', () => {
    const cfg = parsePagingConfig({
      receivers: receiversCfg,
      route: {
        receiver: 'chat',
        group_wait: '10s',
        routes: [
          { matchers: ['severity=page'], receiver: 'pd', continue: true },
          { matchers: ['faculty=~"med|law"'], receiver: 'chat', group_by: ['...'] },
          { matchers: ['faculty=sci'], receiver: 'am' },
        ],
      },
    });
    const root = resolveRoute(cfg.route, 'chat');
    const hit = (l: Record<string, string>) => matchRoutes(root, l).map((r) => `${r.receiver}:${r.id}:${r.groupWaitMs}:${r.groupByAll}`);
    expect(hit({ severity: 'page', faculty: 'med' })).toEqual(['pd:0.0:10000:false', 'chat:0.1:10000:true']);
    expect(hit({ severity: 'warning', faculty: 'sci' })).toEqual(['am:0.2:10000:false']);
    expect(hit({ severity: 'warning', faculty: 'eng' })).toEqual(['chat:0:10000:false']);
  });
});

describe('router', () => {
  it('a signal flapping every 30 s for 10 minutes yields one page, then one resolve after the hold-down', () => {
    const r = routerFor({ receivers: receiversCfg.slice(0, 1), route: { receiver: 'pd', group_wait: '30s', group_interval: '1m' }, resolve_hold: '5m' }, { pd: PD });
    const out: Dispatch[] = [];
    let startsAt = T0;
    for (let t = T0; t < T0 + 10 * 60_000; t += 15_000) {
      const phase = Math.floor((t - T0) / 30_000) % 2;
      if (phase === 0 && (t - T0) % 30_000 === 0) startsAt = t;
      const a = phase === 0 ? alert({ faculty: 'med' }, 'firing', startsAt) : alert({ faculty: 'med' }, 'resolved', startsAt, startsAt + 30_000);
      out.push(...r.observe([a], t), ...r.tick(t + 1));
    }
    // Then quiet (resolved) for 6 minutes.
    const end = T0 + 10 * 60_000;
    for (let t = end; t <= end + 6 * 60_000; t += 15_000) out.push(...r.observe([alert({ faculty: 'med' }, 'resolved', startsAt, end - 30_000)], t));
    expect(out.map((d) => d.message.status)).toEqual(['firing', 'resolved']);
    expect(out[0]!.message.alerts[0]!.startsAt).toBe(T0);
    expect(out[1]!.message.alerts[0]!.startsAt).toBe(T0);
    expect(out[0]!.key).toBe(out[1]!.key);
  });

  it('groups by faculty: alerts arriving within group_wait make one message; repeat_interval re-sends', () => {
    const r = routerFor({ receivers: receiversCfg.slice(1, 2), route: { receiver: 'chat', group_by: ['faculty'], group_wait: '30s', group_interval: '5m', repeat_interval: '1h' } }, { chat: CHAT });
    const a1 = alert({ faculty: 'med', server: 's1' }, 'firing', T0);
    const a2 = alert({ faculty: 'med', server: 's2' }, 'firing', T0 + 10_000);
    expect(r.observe([a1], T0)).toEqual([]);
    expect(r.observe([a1, a2], T0 + 10_000)).toEqual([]);
    const first = r.tick(T0 + 30_000);
    expect(first).toHaveLength(1);
    expect(first[0]!.message.alerts).toHaveLength(2);
    expect(r.tick(T0 + 40 * 60_000)).toEqual([]);
    const again = r.tick(T0 + 61 * 60_000);
    expect(again).toHaveLength(1);
    expect(again[0]!.message.repeat).toBe(1);
    expect(again[0]!.id).not.toBe(first[0]!.id);
  });

  it('inhibits per-faculty pages while a platform-wide collapse alert fires', () => {
    const r = routerFor(
      {
        receivers: receiversCfg.slice(0, 1),
        route: { receiver: 'pd', group_wait: '0s' },
        inhibit_rules: [{ source_matchers: ['alertname=PlatformCollapse'], target_matchers: ['alertname=~"Faculty.*"'], equal: [] }],
      },
      { pd: PD },
    );
    const collapse: Notification = { ...alert({}, 'firing', T0), labels: { alertname: 'PlatformCollapse', severity: 'page' }, fingerprint: '1' };
    const out = r.observe([collapse, alert({ faculty: 'med' }, 'firing', T0), alert({ faculty: 'law' }, 'firing', T0)], T0);
    expect(out.map((d) => d.message.alerts[0]!.labels['alertname'])).toEqual(['PlatformCollapse']);
    expect(r.stats().inhibited).toBe(2);
  });

  it('silenced alerts are not sent', () => {
    const silences: SilenceIndex = { silencedBy: (l) => (l['faculty'] === 'law' ? ({ id: 's' } as never) : undefined), lastError: () => undefined };
    const r = routerFor({ receivers: receiversCfg.slice(0, 1), route: { receiver: 'pd', group_wait: '0s' } }, { pd: PD }, silences);
    const out = r.observe([alert({ faculty: 'med' }, 'firing', T0), alert({ faculty: 'law' }, 'firing', T0)], T0);
    expect(out.map((d) => d.message.alerts[0]!.labels['faculty'])).toEqual(['med']);
  });

  it('sends raw alerts to Alertmanager at once, re-sends while firing, resolve after hold with endsAt', () => {
    const r = routerFor({ receivers: receiversCfg.slice(2), route: { receiver: 'am' }, resolve_hold: '1m' }, { am: AM });
    const f = alert({ faculty: 'med' }, 'firing', T0);
    const d0 = r.observe([f], T0);
    expect(d0).toHaveLength(1);
    expect(r.observe([f], T0 + 30_000)).toEqual([]);
    const d1 = r.observe([f], T0 + 60_000);
    expect(d1[0]!.message.repeat).toBe(1);
    const res = alert({ faculty: 'med' }, 'resolved', T0, T0 + 75_000);
    expect(r.observe([res], T0 + 75_000)).toEqual([]);
    const d2 = r.observe([res], T0 + 135_000);
    expect(d2.map((d) => [d.message.status, d.message.alerts[0]!.endsAt])).toEqual([['resolved', T0 + 75_000]]);
    expect(r.observe([res], T0 + 150_000)).toEqual([]);
  });

  it('ids are stable for the same alert state (a restart re-derives them)', () => {
    const mk = () => routerFor({ receivers: receiversCfg.slice(0, 1), route: { receiver: 'pd', group_wait: '0s' } }, { pd: PD });
    const a = alert({ faculty: 'med' }, 'firing', T0);
    expect(mk().observe([a], T0)[0]!.id).toBe(mk().observe([a], T0 + 5000)[0]!.id);
  });
});

describe('router restarts', () => {
  it('Alertmanager keep-alives are numbered by resend slot, so a restarted router derives the same ids', () => {
    const mk = () => routerFor({ receivers: receiversCfg.slice(2), route: { receiver: 'am' } }, { am: AM });
    const before = mk();
    const f = alert({ faculty: 'med' }, 'firing', T0);
    const ids = [0, 60_000, 120_000, 180_000].flatMap((dt) => before.observe([f], T0 + dt + 1).map((d) => d.id));
    expect(ids).toHaveLength(4);
    const after = mk(); // the process restarted 10 s into slot 3
    expect(after.observe([f], T0 + 190_000).map((d) => d.id)).toEqual([ids[3]]);
    expect(after.observe([f], T0 + 240_001)[0]!.id).not.toBe(ids[3]);
  });
});
