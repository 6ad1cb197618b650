import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../../core/clock.ts';
import { parsePagingConfig } from '../../../../paging/routing/config.ts';
import { createPager } from '../../../../paging/routing/pager.ts';
import { writeSilences } from '../../../../paging/routing/silences.ts';
import type { Notification } from '../../../../paging/receivers/types.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
const a = (faculty: string, status: 'firing' | 'resolved' = 'firing', endsAt?: number): Notification => ({
  fingerprint: `fp-${faculty}`,
  status,
  labels: { alertname: 'FacultySessionsAtCapacity', faculty, severity: 'page' },
  annotations: { summary: `${faculty} at 97%` },
  startsAt: T0,
  ...(endsAt !== undefined ? { endsAt } : {}),
  generatorURL: '',
  value: 0.97,
});

function setup(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-pager-'));
  const clock = manualClock(T0);
  const bodies: { url: string; body: Record<string, unknown> }[] = [];
  let status = 200;
  const fetch: typeof globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    bodies.push({ url: String(url), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return new Response('{}', { status });
  }) as typeof globalThis.fetch;
  const config = parsePagingConfig({
    receivers: [
      { name: 'pd', type: 'pagerduty', url: 'http://pd', routing_key: 'k' },
      { name: 'chat', type: 'slack', url: 'http://chat/hook' },
    ],
    route: { receiver: 'pd', group_wait: '30s', routes: [{ matchers: ['faculty=law'], receiver: 'chat' }] },
    silences_file: join(dir, 'silences.json'),
    outbox: { fallback: 'chat', max_age: '10m' },
    ...extra,
  });
  const logs: string[] = [];
  const pager = createPager({ config, journalDir: join(dir, 'outbox'), clock: clock.now, fetch, log: (l) => logs.push(l), random: () => 0 });
  return { dir, clock, bodies, pager, logs, setStatus: (s: number) => (status = s) };
}

describe('pager', () => {
  it('routes, waits group_wait, delivers once; a notify only journals', async () => {
    const { clock, bodies, pager } = setup();
    await pager.notify([a('med'), a('law')]);
    await pager.tick(T0);
    expect(bodies).toEqual([]);
    clock.set(T0 + 30_000);
    await pager.notify([a('med'), a('law')]);
    await pager.tick(T0 + 30_000);
    expect(bodies.map((b) => b.url).sort()).toEqual(['http://chat/hook', 'http://pd/v2/enqueue']);
    await pager.tick(T0 + 60_000);
    expect(bodies).toHaveLength(2);
    expect(pager.stats()).toMatchObject({ delivered: 2, depth: 0 });
    await pager.stop();
  });

  it('does not page a silenced faculty (maintenance window from the silences file)', async () => {
    const { dir, clock, bodies, pager } = setup({ route: { receiver: 'pd', group_wait: '0s' } });
    writeSilences(join(dir, 'silences.json'), [
      { id: 's1', matchers: ['faculty=law'], startsAt: new Date(T0 - 1000).toISOString(), endsAt: new Date(T0 + 3600_000).toISOString(), createdBy: 't', comment: 'paper exam', createdAt: new Date(T0).toISOString() },
    ]);
    await pager.notify([a('med'), a('law')]);
    await pager.tick(clock.now());
    expect(bodies.map((b) => (b.body['payload'] as { group: string }).group)).toEqual(['med']);
    expect(pager.stats().router.silenced).toBe(1);
    await pager.stop();
  });

  it('reports a page PagerDuty cannot take within max age to the fallback receiver', async () => {
    const { clock, bodies, pager, logs, setStatus } = setup({ route: { receiver: 'pd', group_wait: '0s' } });
    setStatus(503);
    await pager.notify([a('med')]);
    for (let t = T0; t <= T0 + 11 * 60_000; t += 5_000) {
      clock.set(t);
      if (t === T0 + 10 * 60_000) setStatus(200);
      await pager.tick(t);
    }
    const chat = bodies.filter((b) => b.url === 'http://chat/hook');
    expect(chat).toHaveLength(1);
    expect(String(chat[0]!.body['text'])).toMatch(/^\[UNDELIVERED to pd\] \[FIRING\] FacultySessionsAtCapacity/);
    expect(logs.some((l) => l.includes('alerts.outbox.undeliverable receiver=pd'))).toBe(true);
    expect(pager.stats()).toMatchObject({ undeliverable: 1, delivered: 1 });
    await pager.stop();
  });
});
