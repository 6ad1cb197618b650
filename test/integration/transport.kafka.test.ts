import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../transport/kafka.ts';
import type { IncomingBatch, TransportConsumer, TransportProducer } from '../../transport/index.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('KafkaTransport against the real broker', () => {
  const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test', redeliveryBackoffMs: 50, onHandlerError: () => undefined });
  const open: (TransportConsumer | TransportProducer)[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.disconnect().catch(() => undefined)));
  });

  async function producer(): Promise<TransportProducer> {
    const p = transport.producer();
    await p.connect();
    open.push(p);
    return p;
  }
  async function consumer(group: string): Promise<TransportConsumer> {
    const c = transport.consumer(group);
    await c.connect();
    open.push(c);
    return c;
  }

  it('delivers keyed messages with headers, in key order, commits after the handler, and lag reaches 0', async () => {
    const topic = uniqueTopic('vigie.test.transport');
    await transport.ensureTopics([{ name: topic, partitions: 4 }]);
    await transport.ensureTopics([{ name: topic, partitions: 4 }]); // idempotent
    const p = await producer();
    const messages = Array.from({ length: 200 }, (_, i) => ({ key: `svc/host-${i % 10}`, value: enc(`v${i}`), headers: { seq: String(i) } }));
    await p.send(topic, messages);

    const group = uniqueTopic('vigie.test.group');
    const c = await consumer(group);
    const byKey = new Map<string, number[]>();
    const partitionsOfKey = new Map<string, Set<number>>();
    await c.run(topic, async (batch: IncomingBatch) => {
      for (const m of batch.messages) {
        const key = m.key ?? '<null>';
        expect(dec(m.value)).toBe(`v${m.headers['seq']}`);
        expect(m.timestampMs).toBeGreaterThan(Date.now() - 600_000);
        byKey.set(key, [...(byKey.get(key) ?? []), Number(m.headers['seq'])]);
        partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(batch.partition));
      }
    });
    await waitUntil(async () => (await c.lag(topic)) === 0, 60_000, 'lag 0');
    expect([...byKey.values()].reduce((n, l) => n + l.length, 0)).toBe(200);
    for (const [key, seqs] of byKey) {
      expect(seqs, key).toEqual([...seqs].sort((a, b) => a - b));
      expect(partitionsOfKey.get(key)!.size, key).toBe(1);
    }
  });

  it('redelivers a batch whose handler rejected, with nothing skipped', async () => {
    const topic = uniqueTopic('vigie.test.redeliver');
    await transport.ensureTopics([{ name: topic, partitions: 1 }]);
    const p = await producer();
    await p.send(topic, Array.from({ length: 20 }, (_, i) => ({ key: 'k', value: enc(String(i)) })));

    const deliveries: string[][] = [];
    let failed = false;
    const c = await consumer(uniqueTopic('vigie.test.group'));
    await c.run(topic, async (batch) => {
      deliveries.push(batch.messages.map((m) => m.offset));
      if (!failed) {
        failed = true;
        throw new Error('sink unavailable (on purpose)');
      }
    });
    await waitUntil(async () => (await c.lag(topic)) === 0, 60_000, 'lag 0 after redelivery');
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(deliveries[1]).toEqual(deliveries[0]);
    const seen = new Set(deliveries.slice(1).flat());
    expect([...seen].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('commits only after the handler resolved: a rejected batch is what the next member of the group gets', async () => {
    const topic = uniqueTopic('vigie.test.commit');
    await transport.ensureTopics([{ name: topic, partitions: 2 }]);
    const p = await producer();
    await p.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: enc(String(i)) })));
    const group = uniqueTopic('vigie.test.group');

    let attempts = 0;
    const failing = await consumer(group);
    await failing.run(topic, async () => {
      attempts++;
      throw new Error('always failing (on purpose)');
    });
    await waitUntil(() => attempts >= 2, 60_000, 'two failed attempts');
    expect(await failing.lag(topic)).toBe(10);
    await failing.disconnect();

    const values: string[] = [];
    const healthy = await consumer(group);
    await healthy.run(topic, async (b) => {
      values.push(...b.messages.map((m) => dec(m.value)));
    });
    await waitUntil(async () => (await healthy.lag(topic)) === 0, 60_000, 'lag 0');
    expect(values.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await healthy.disconnect();

    // Committed: a later member of the group starts after what was acknowledged.
    await p.send(topic, [{ key: 'k0', value: enc('late') }]);
    const later: string[] = [];
    const third = await consumer(group);
    await third.run(topic, async (b) => {
      later.push(...b.messages.map((m) => dec(m.value)));
    });
    await waitUntil(async () => (await third.lag(topic)) === 0, 60_000, 'lag 0 for the third member');
    expect(later).toEqual(['late']);
  });
});
