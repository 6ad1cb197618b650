/**
 * kill -9 while sending: a child process (node on a small TypeScript script) journals two
 * pages and starts delivering; the PagerDuty-speaking receiver answers one and holds
 * the other open; the test SIGKILLs the child there, deterministically, and restarts
 * it on the same journal. No page is lost, none is duplicated at the deduplicating
 * receiver, and the page recorded as delivered is not sent again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagerDutyDedupKey } from '../../paging/receivers/pagerduty.ts';
import type { Notification } from '../../paging/receivers/types.ts';
import { startFakeReceivers, type FakeReceivers } from '../unit/paging/receivers/fakeReceivers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const STARTS_AT = Date.UTC(2026, 0, 12, 8, 0, 0);
const mk = (fp: string, faculty: string): Notification => ({
  fingerprint: fp,
  status: 'firing',
  labels: { alertname: 'FacultySessionsAtCapacity', faculty, severity: 'page' },
  annotations: { summary: `${faculty} is at 97% of its session capacity` },
  startsAt: STARTS_AT,
  generatorURL: '',
  value: 0.97,
});
const A = mk('1001', 'med');
const B = mk('2002', 'law');

const SCRIPT = `
import { join } from 'node:path';
import { systemClock } from ${JSON.stringify(join(ROOT, 'core/clock.ts'))};
import { parsePagingConfig } from ${JSON.stringify(join(ROOT, 'paging/routing/config.ts'))};
import { createPager } from ${JSON.stringify(join(ROOT, 'paging/routing/pager.ts'))};
const [journalDir, url, alertsJson] = process.argv.slice(2);
const config = parsePagingConfig({
  receivers: [{ name: 'pd', type: 'pagerduty', url, routing_key: 'RK' }],
  route: { receiver: 'pd', group_wait: '0s' },
  outbox: { timeout: '60s', backoff_initial: '100ms' },
  silences_file: join(journalDir, 'silences.json'),
});
const pager = createPager({ config, journalDir, clock: systemClock, pollIntervalMs: 50, log: (l) => process.stderr.write(l + '\\n') });
pager.start();
await pager.notify(JSON.parse(alertsJson));
process.stdout.write('journaled ' + pager.stats().depth + '\\n');
while (pager.stats().depth > 0) await new Promise((r) => setTimeout(r, 20));
await pager.stop();
process.stdout.write('drained ' + JSON.stringify(pager.stats()) + '\\n');
`;

function startChild(dir: string, url: string): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [join(dir, 'pager-child.mts'), join(dir, 'outbox'), url, JSON.stringify([A, B])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

async function until(pred: () => boolean, what: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('pager kill -9 mid-delivery', () => {
  let fake: FakeReceivers;
  beforeAll(async () => {
    fake = await startFakeReceivers({ routingKey: 'RK' });
  });
  afterAll(async () => fake?.stop());

  it('re-sends the page in flight after a restart, never the delivered one, none duplicated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigie-crash-'));
    writeFileSync(join(dir, 'pager-child.mts'), SCRIPT);
    const keyA = pagerDutyDedupKey(A);
    const keyB = pagerDutyDedupKey(B);
    fake.hold((b) => b['dedup_key'] === keyA);

    const first = startChild(dir, fake.url);
    const journal = join(dir, 'outbox', 'outbox.jsonl');
    const journalText = () => {
      try {
        return readFileSync(journal, 'utf8');
      } catch {
        return '';
      }
    };
    // A is held open by the receiver; B was answered and its delivery is on disk.
    await until(() => fake.incidents.has(keyA) && fake.incidents.has(keyB) && journalText().includes('"t":"done"'), () => `both pages at the receiver (child output: ${first.out()}; journal: ${journalText()}; counts ${JSON.stringify(fake.counts())})`);
    // SIGKILL the whole process group, as `kill -9 -PGID` would.
    process.kill(-first.child.pid!, 'SIGKILL');
    expect(await first.exit).toBeNull();
    expect(first.out()).not.toContain('drained');
    fake.release();

    const second = startChild(dir, fake.url);
    expect(await second.exit, `second run output: ${second.out()}`).toBe(0);
    expect(second.out()).toMatch(/drained/);

    expect(fake.counts()).toMatchObject({ pages: 2, invalid: 0 });
    expect(fake.incidents.get(keyA)!.triggers).toBe(2); // re-sent after the crash, deduplicated by dedup_key
    expect(fake.incidents.get(keyB)!.triggers).toBe(1); // delivered before the crash: not sent again
    const idemKeys = fake.requests.filter((r) => (r.body as { dedup_key: string }).dedup_key === keyA).map((r) => r.headers['idempotency-key']);
    expect(new Set(idemKeys).size).toBe(1); // same idempotency key across the restart
  }, 120_000);
});
