/**
 * Fault tests of the pager against a real local PagerDuty-speaking endpoint (HTTP over
 * real sockets), with an injected clock where the span is long: a receiver down for
 * five minutes, a receiver answering 500 then 429 with Retry-After, and a signal
 * flapping every 30 s for 10 minutes through the real rules engine.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, type ManualClock } from '../../core/clock.ts';
import { createRuleEngine } from '../../rules/engine.ts';
import { parseRuleFile } from '../../rules/ruleFile.ts';
import { createSeriesStore } from '../../rules/windows.ts';
import { parsePagingConfig } from '../../paging/routing/config.ts';
import { createPager, type Pager } from '../../paging/routing/pager.ts';
import type { Notification } from '../../paging/receivers/types.ts';
import { startFakeReceivers, type FakeReceivers } from '../unit/paging/receivers/fakeReceivers.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
const page: Notification = {
  fingerprint: '777',
  status: 'firing',
  labels: { alertname: 'FacultySessionsAtCapacity', faculty: 'med', severity: 'page' },
  annotations: { summary: 'med is at 97% of its session capacity' },
  startsAt: T0,
  generatorURL: '',
  value: 0.97,
};

describe('pager faults (real HTTP, injected clock)', () => {
  let fake: FakeReceivers;
  let clock: ManualClock;
  let pager: Pager;
  let logs: string[];
  beforeEach(async () => {
    fake = await startFakeReceivers({ routingKey: 'RK' });
    clock = manualClock(T0);
    logs = [];
    const dir = mkdtempSync(join(tmpdir(), 'vigie-faults-'));
    const config = parsePagingConfig({
      receivers: [{ name: 'pd', type: 'pagerduty', url: fake.url, routing_key: 'RK' }],
      route: { receiver: 'pd', group_wait: '0s', group_interval: '1m' },
      resolve_hold: '5m',
      outbox: { backoff_initial: '1s', backoff_max: '1m', timeout: '2s' },
      silences_file: join(dir, 'silences.json'),
    });
    pager = createPager({ config, journalDir: join(dir, 'outbox'), clock: clock.now, log: (l) => logs.push(l), random: () => 0.5 });
  });
  afterEach(async () => {
    await pager.stop();
    await fake.stop();
  });

  /** Moves simulated time in steps, ticking the pager (real HTTP at each tick). */
  async function run(until: number, stepMs: number, each?: (t: number) => Promise<void>): Promise<void> {
    for (let t = clock.now(); t <= until; t += stepMs) {
      clock.set(t);
      await each?.(t);
      await pager.tick(t);
    }
  }

  it('receiver down for five minutes: the page is delivered afterwards, once', async () => {
    await fake.down();
    await pager.notify([page]);
    await run(T0 + 5 * 60_000, 1000, async (t) => {
      if (t === T0 + 5 * 60_000) await fake.up();
    });
    await run(T0 + 7 * 60_000, 1000, async () => {
      await pager.notify([page]);
    });
    expect(fake.counts()).toMatchObject({ pages: 1, triggerEvents: 1 });
    const s = pager.stats();
    expect(s).toMatchObject({ delivered: 1, depth: 0, undeliverable: 0 });
    expect(s.retried).toBeGreaterThanOrEqual(5);
    expect(s.retried).toBeLessThanOrEqual(15); // backoff, not a retry storm
    const delivered = fake.requests.find((r) => r.path === '/v2/enqueue')!;
    expect((delivered.body as { payload: { timestamp: string } }).payload.timestamp).toBe(new Date(T0).toISOString());
  });

  it('500 then 429 with Retry-After: retried with backoff, and the Retry-After honoured', async () => {
    fake.failNext(1, 500);
    await pager.notify([page]);
    const attemptsAt: number[] = [];
    let seen = 0;
    fake.failNext(1, 500);
    await run(T0 + 3 * 60_000, 250, async (t) => {
      if (fake.requests.length > seen) {
        seen = fake.requests.length;
        attemptsAt.push(t - 250 - T0);
        if (seen === 1) fake.failNext(1, 429, { 'retry-after': '90' });
      }
    });
    expect(fake.requests.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue', '/v2/enqueue']);
    // 1st at 0; 2nd after the jittered backoff (0.5 s–1 s, random 0.5 → 750 ms); 3rd at least 90 s after the 429.
    expect(attemptsAt[0]).toBe(0);
    expect(attemptsAt[1]).toBeGreaterThanOrEqual(500);
    expect(attemptsAt[1]).toBeLessThanOrEqual(1000);
    expect(attemptsAt[2]! - attemptsAt[1]!).toBeGreaterThanOrEqual(90_000);
    expect(attemptsAt[2]! - attemptsAt[1]!).toBeLessThanOrEqual(91_000);
    expect(fake.counts()).toMatchObject({ pages: 1 });
    expect(pager.stats()).toMatchObject({ delivered: 1, retried: 2 });
  });

  it('a signal flapping every 30 s for 10 minutes yields one page (and one resolve once quiet)', async () => {
    const store = createSeriesStore();
    const groups = parseRuleFile(`groups:
  - name: capacity
    interval: 15s
    rules:
      - alert: FacultySessionsAtCapacity
        expr: ecampus_sessions_active / ecampus_capacity_sessions > 0.95
        for: 0s
        labels: { severity: page }
        annotations: { summary: '{{ $labels.faculty }} is at {{ $value | humanizePercentage }} of capacity' }
`);
    const engine = createRuleEngine({ groups, store, notify: pager.notify });
    const transitions: string[] = [];
    const end = T0 + 10 * 60_000;
    await run(end + 6 * 60_000, 15_000, async (t) => {
      const high = t < end && Math.floor((t - T0) / 30_000) % 2 === 0;
      store.add([
        { metric: 'ecampus_sessions_active', labels: { faculty: 'med' }, timestampMs: t, value: high ? 990 : 500 },
        { metric: 'ecampus_capacity_sessions', labels: { faculty: 'med' }, timestampMs: t, value: 1000 },
      ]);
      const r = engine.evaluate(t);
      transitions.push(...r.transitions.map((x) => x.state));
      await r.delivered;
    });
    expect(transitions.filter((s) => s === 'firing').length).toBe(10); // the engine really flapped
    expect(fake.counts()).toMatchObject({ pages: 1, triggerEvents: 1, resolves: 1, invalid: 0 });
  });
});
