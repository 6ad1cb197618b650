import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferFullError, DurableProducer } from '../../../collectors/durableProducer.ts';
import { fakeProducer } from './fakeProducer.ts';

const msg = (i: number, size = 100) => ({ key: `k/${i}`, value: new Uint8Array(size).fill(i % 256) });
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vigie-spool-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('DurableProducer', () => {
  it('keeps messages while the broker fails and delivers them in order once it is back', async () => {
    const inner = fakeProducer();
    inner.failNext = 3;
    const p = new DurableProducer({ inner, retryInitialMs: 5, retryMaxMs: 20 });
    await p.connect();
    for (let i = 0; i < 10; i++) await p.send('t', [msg(i)]);
    expect(await p.flush(5_000)).toBe(true);
    expect(inner.sent.map((s) => s.message.key)).toEqual([...Array(10).keys()].map((i) => `k/${i}`));
    expect(p.stats()).toMatchObject({ delivered: 10, dropped: 0, failedAttempts: 3, bufferedMessages: 0 });
    await p.disconnect();
  });

  it('refuses and counts drops when the memory buffer is full and there is no spool', async () => {
    const inner = fakeProducer();
    inner.failNext = 1_000_000;
    const p = new DurableProducer({ inner, maxBufferBytes: 1_000, retryInitialMs: 1_000 });
    await p.connect();
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      try {
        await p.send('t', [msg(i)]);
      } catch (err) {
        expect(err).toBeInstanceOf(BufferFullError);
        expect((err as Error).message).toMatch(/no spool configured/);
        refused++;
      }
    }
    expect(p.stats().bufferedMessages + refused).toBe(20);
    expect(p.stats().dropped).toBe(refused);
    expect(refused).toBeGreaterThan(0);
    await p.disconnect(10);
  });

  it('spools to disk past the buffer, survives a restart, and delivers everything in order', async () => {
    const dir = tmp();
    const down = fakeProducer();
    down.failNext = 1_000_000;
    const a = new DurableProducer({ inner: down, maxBufferBytes: 600, spoolDir: dir, retryInitialMs: 1_000 });
    await a.connect();
    for (let i = 0; i < 12; i++) await a.send('t', [{ ...msg(i), headers: { h: String(i) } }]);
    expect(a.stats().spooledMessages).toBeGreaterThan(0);
    await a.disconnect(10); // memory goes to the spool too
    expect(readdirSync(dir).filter((f) => f.endsWith('.msg'))).toHaveLength(12);

    const up = fakeProducer();
    const b = new DurableProducer({ inner: up, spoolDir: dir, retryInitialMs: 5 });
    expect(b.stats().spooledMessages).toBe(12);
    await b.connect();
    await b.send('t', [msg(12)]);
    await until(() => up.sent.length === 13);
    expect(up.sent.map((s) => s.message.key)).toEqual([...Array(13).keys()].map((i) => `k/${i}`));
    expect(up.sent[3]!.message.headers).toEqual({ h: '3' });
    expect(Array.from(up.sent[5]!.message.value.subarray(0, 3))).toEqual([5, 5, 5]);
    await b.disconnect();
    expect(readdirSync(dir).filter((f) => f.endsWith('.msg'))).toHaveLength(0);
  });
});

describe('DurableProducer idle disconnect', () => {
  it('disconnects the real producer when idle and reconnects for the next message', async () => {
    const inner = fakeProducer();
    let connects = 0;
    let disconnects = 0;
    inner.connect = async () => void connects++;
    inner.disconnect = async () => void disconnects++;
    const p = new DurableProducer({ inner, idleDisconnectMs: 20 });
    await p.connect();
    await p.send('t', [msg(1)]);
    await until(() => disconnects === 1);
    await p.send('t', [msg(2)]);
    await until(() => inner.sent.length === 2 && disconnects === 2);
    expect(connects).toBe(2);
    await p.disconnect();
    expect(inner.sent.map((s) => s.message.key)).toEqual(['k/1', 'k/2']);
  });
});
