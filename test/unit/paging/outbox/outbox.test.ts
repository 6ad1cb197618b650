import { mkdtempSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../../core/clock.ts';
import { ReceiverError } from '../../../../paging/receivers/http.ts';
import type { OutboxMessage } from '../../../../paging/receivers/types.ts';
import { createOutbox, type OutboxItem } from '../../../../paging/outbox/outbox.ts';
import type { OutboxEntry } from '../../../../paging/outbox/journal.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
const msg: OutboxMessage = {
  groupKey: 'g',
  groupLabels: { faculty: 'med' },
  status: 'firing',
  alerts: [{ fingerprint: '1', status: 'firing', labels: { alertname: 'A', faculty: 'med' }, annotations: {}, startsAt: T0, generatorURL: '', value: NaN }],
};
const item = (id: string, receiver = 'pd', key = `pd|${id}`): OutboxItem => ({ id, receiver, key, message: msg });
const dir = () => mkdtempSync(join(tmpdir(), 'vigie-outbox-'));

describe('outbox', () => {
  it('journals before sending, delivers, and does not re-send after a restart', async () => {
    const d = dir();
    const clock = manualClock(T0);
    const sent: string[] = [];
    const deliver = async (e: OutboxEntry) => {
      sent.push(e.id);
    };
    const ob = createOutbox({ dir: d, clock: clock.now, deliver, log: () => undefined });
    expect(ob.enqueue([item('a'), item('b')])).toBe(2);
    expect(readFileSync(join(d, 'outbox.jsonl'), 'utf8')).toContain('"t":"enq"');
    expect(sent).toEqual([]);
    await ob.tick(T0);
    expect(sent).toEqual(['a', 'b']);
    expect(ob.enqueue([item('a')])).toBe(0);
    ob.close();
    const again = createOutbox({ dir: d, clock: clock.now, deliver, log: () => undefined });
    await again.tick(T0 + 1000);
    expect(sent).toEqual(['a', 'b']);
    expect(again.enqueue([item('b')])).toBe(0);
    again.close();
  });

  it('re-sends entries that were pending at a crash (and survives a torn last line)', async () => {
    const d = dir();
    const clock = manualClock(T0);
    const first = createOutbox({ dir: d, clock: clock.now, deliver: async () => new Promise<void>(() => undefined), log: () => undefined });
    first.enqueue([item('a')]);
    void first.tick(T0); // hangs: the "process" dies here
    appendFileSync(join(d, 'outbox.jsonl'), '{"t":"done","id":"a","at":');
    const sent: string[] = [];
    const logs: string[] = [];
    const second = createOutbox({ dir: d, clock: clock.now, deliver: async (e) => void sent.push(e.id), log: (l) => logs.push(l) });
    expect(second.stats().journalSkippedLines).toBe(1);
    await second.tick(T0 + 1000);
    expect(sent).toEqual(['a']);
    expect(logs.join('\n')).toMatch(/skipped 1 unreadable line/);
  });

  it('retries with backoff, honours Retry-After, and delivers in order per key', async () => {
    const clock = manualClock(T0);
    const calls: { id: string; at: number }[] = [];
    const failures = [new ReceiverError('503', { retriable: true, status: 503 }), new ReceiverError('429', { retriable: true, status: 429, retryAfterMs: 120_000 })];
    const ob = createOutbox({
      dir: dir(),
      clock: clock.now,
      random: () => 0,
      backoffInitialMs: 1000,
      log: () => undefined,
      deliver: async (e, now) => {
        calls.push({ id: e.id, at: now });
        const f = failures.shift();
        if (f) throw f;
      },
    });
    ob.enqueue([item('trigger', 'pd', 'pd|x'), item('resolve', 'pd', 'pd|x')]);
    for (let t = T0; t <= T0 + 200_000; t += 250) {
      clock.set(t);
      await ob.tick(t);
    }
    expect(calls.map((c) => [c.id, c.at - T0])).toEqual([
      ['trigger', 0],
      ['trigger', 500], // backoffDelay(0, 1000) with random 0 = 500 ms
      ['trigger', 500 + 120_000], // Retry-After 120 s beats the 1 s backoff
      ['resolve', 120_750], // next tick after the trigger went through
    ]);
    expect(ob.stats()).toMatchObject({ delivered: 2, retried: 2, depth: 0 });
  });

  it('gives up on a 4xx at once, and after max age; both go to the fallback receiver', async () => {
    const clock = manualClock(T0);
    const logs: string[] = [];
    const sent: { receiver: string; undeliverable?: unknown }[] = [];
    const ob = createOutbox({
      dir: dir(),
      clock: clock.now,
      maxAgeMs: 60 * 60_000,
      fallbackReceiver: 'mail',
      log: (l) => logs.push(l),
      deliver: async (e) => {
        if (e.receiver === 'mail') {
          sent.push({ receiver: e.receiver, undeliverable: e.message.undeliverable });
          return;
        }
        if (e.id === 'bad') throw new ReceiverError('400 invalid routing key', { retriable: false, status: 400 });
        throw new ReceiverError('connection refused', { retriable: true });
      },
    });
    ob.enqueue([item('bad', 'pd', 'pd|1'), item('down', 'pd', 'pd|2')]);
    for (let t = T0; t <= T0 + 61 * 60_000; t += 1000) {
      clock.set(t);
      await ob.tick(t);
    }
    expect(sent.map((s) => s.undeliverable)).toEqual([
      { receiver: 'pd', reason: expect.stringMatching(/400 invalid routing key/) },
      { receiver: 'pd', reason: expect.stringMatching(/not delivered within 60 min|still failing/) },
    ]);
    expect(ob.stats()).toMatchObject({ rejected: 1, undeliverable: 1, depth: 0 });
    expect(logs.filter((l) => l.includes('alerts.outbox.undeliverable'))).toHaveLength(2);
  });

  it('refuses a journal directory locked by another live process, takes over a dead one', () => {
    const d = dir();
    writeFileSync(join(d, 'outbox.lock'), String(process.ppid));
    expect(() => createOutbox({ dir: d, clock: () => T0, deliver: async () => undefined, log: () => undefined })).toThrow(/in use by process/);
    writeFileSync(join(d, 'outbox.lock'), '999999999');
    createOutbox({ dir: d, clock: () => T0, deliver: async () => undefined, log: () => undefined }).close();
  });
});
