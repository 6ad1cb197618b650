import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { InProcessTransport, createTransport, partitionForKey } from '../../../transport/index.ts';
import type { IncomingBatch } from '../../../transport/index.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const quiet = { onHandlerError: () => undefined };

describe('InProcessTransport', () => {
  it('puts a key on the same partition as Kafka\'s default partitioner', () => {
    const kafkaPartitioner = kafkajs.Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'svc-web/host-01', 'ecampus-é-λ', 'x'.repeat(101)]) {
      const expected = kafkaPartitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      expect(partitionForKey(key, 7), key).toBe(expected);
    }
  });

  it('delivers keyed messages in order per partition and commits after the handler', async () => {
    const t = new InProcessTransport({ defaultPartitions: 3, ...quiet });
    const p = t.producer();
    await p.connect();
    const msgs = Array.from({ length: 60 }, (_, i) => ({ key: `host-${i % 5}`, value: enc(`m${i}`), headers: { n: String(i) } }));
    await p.send('otlp_metrics', msgs);
    expect(t.lag('g', 'otlp_metrics')).toBe(60);

    const seen = new Map<string, number[]>();
    const c = t.consumer('g');
    await c.connect();
    await c.run('otlp_metrics', async (batch) => {
      for (const m of batch.messages) {
        const list = seen.get(m.key ?? '') ?? [];
        list.push(Number(m.headers['n']));
        seen.set(m.key ?? '', list);
        expect(batch.partition).toBe(partitionForKey(m.key ?? '', 3));
      }
    });
    await t.drained('g', 'otlp_metrics', 5_000);
    expect(await c.lag('otlp_metrics')).toBe(0);
    for (const [key, ns] of seen) {
      expect(ns, key).toEqual([...ns].sort((a, b) => a - b));
      expect(ns.length).toBe(12);
    }
    await c.disconnect();
  });

  it('takes the partitions in turn, so one partition\'s backlog never starves the others', async () => {
    for (const concurrent of [1, 2]) {
      const t = new InProcessTransport({ defaultPartitions: 4, maxBatchSize: 10, partitionsConsumedConcurrently: concurrent, ...quiet });
      const p = t.producer();
      await p.connect();
      // 200 messages per partition, all there before the consumer starts (a backlog).
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].filter((k, i, all) => all.findIndex((x) => partitionForKey(x, 4) === partitionForKey(k, 4)) === i);
      expect(new Set(keys.map((k) => partitionForKey(k, 4))).size).toBe(4);
      await p.send('t', keys.flatMap((key) => Array.from({ length: 200 }, (_, i) => ({ key, value: enc(String(i)) }))));
      const order: number[] = [];
      const c = t.consumer(`fair-${concurrent}`);
      await c.connect();
      await c.run('t', async (batch) => {
        order.push(batch.partition);
      });
      await t.drained(`fair-${concurrent}`, 't', 5_000);
      await c.disconnect();
      // Every window of 4 consecutive batches (while all four have a backlog) holds all four partitions.
      for (let i = 0; i + 4 <= 76; i += 4) expect(new Set(order.slice(i, i + 4)).size, `concurrency ${concurrent}, batches ${i}..${i + 3}: ${order.slice(i, i + 4).join(',')}`).toBe(4);
    }
  });

  it('redelivers the same batch after a rejected handler, skipping nothing', async () => {
    const t = new InProcessTransport({ defaultPartitions: 1, redeliveryBackoffMs: 5, ...quiet });
    const p = t.producer();
    await p.connect();
    await p.send('t', [1, 2, 3].map((i) => ({ key: 'k', value: enc(`v${i}`) })));
    const deliveries: string[][] = [];
    let failures = 0;
    const c = t.consumer('g');
    await c.connect();
    await c.run('t', async (b: IncomingBatch) => {
      deliveries.push(b.messages.map((m) => `${m.offset}:${dec(m.value)}`));
      if (failures < 2) {
        failures++;
        throw new Error('sink down');
      }
    });
    await t.drained('g', 't', 5_000);
    expect(deliveries).toEqual([
      ['0:v1', '1:v2', '2:v3'],
      ['0:v1', '1:v2', '2:v3'],
      ['0:v1', '1:v2', '2:v3'],
    ]);
    await c.disconnect();
  });

  it('run() returns at once; later sends are consumed; a new group starts from the earliest message held', async () => {
    const t = new InProcessTransport({ defaultPartitions: 2, ...quiet });
    const p = t.producer();
    await p.connect();
    await p.send('t', [{ key: 'a', value: enc('1') }]);
    const got: string[] = [];
    const c = t.consumer('g1');
    await c.connect();
    await c.run('t', async (b) => {
      got.push(...b.messages.map((m) => dec(m.value)));
    });
    await p.send('t', [{ key: 'b', value: enc('2') }, { key: 'a', value: enc('3') }]);
    await t.drained('g1', 't', 5_000);
    expect([...got].sort()).toEqual(['1', '2', '3']);

    const other: string[] = [];
    const c2 = t.consumer('g2');
    await c2.connect();
    await c2.run('t', async (b) => {
      other.push(...b.messages.map((m) => dec(m.value)));
    });
    await t.drained('g2', 't', 5_000);
    // g1 (the only group then) had committed 1, 2 and 3, so they were dropped: g2 starts
    // at the log's start, as a Kafka group does after retention deleted older segments.
    expect(other).toEqual([]);
    await p.send('t', [{ key: 'a', value: enc('4') }]);
    await t.drained('g1', 't', 5_000);
    await t.drained('g2', 't', 5_000);
    expect(other).toEqual(['4']);
    await Promise.all([c.disconnect(), c2.disconnect()]);
  });

  it('holds a message until every joined group committed it, then drops it; a topic nobody joined keeps all', async () => {
    const t = new InProcessTransport({ defaultPartitions: 1, maxBatchSize: 10, ...quiet });
    const p = t.producer();
    await p.connect();
    const held = () => (t.topic('t').partitions[0]!.messages.length);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: string[] = [];
    const fast = t.consumer('fast');
    const lagging = t.consumer('slow');
    await fast.connect();
    await lagging.connect();
    await fast.run('t', async () => undefined);
    await lagging.run('t', async (b) => {
      await gate;
      slow.push(...b.messages.map((m) => `${m.offset}:${dec(m.value)}`));
    });
    await p.send('t', Array.from({ length: 25 }, (_, i) => ({ key: 'k', value: enc(String(i)) })));
    await t.drained('fast', 't', 5_000);
    expect(held()).toBe(25); // 'slow' has committed nothing yet
    release();
    await t.drained('slow', 't', 5_000);
    expect(held()).toBe(0);
    expect(slow).toEqual(Array.from({ length: 25 }, (_, i) => `${i}:${i}`));
    // Offsets go on from where they were; lag counts only what was produced since.
    await p.send('t', [{ key: 'k', value: enc('25') }]);
    expect(t.lag('fast', 't')).toBe(1);
    await t.drained('fast', 't', 5_000);
    await t.drained('slow', 't', 5_000);
    expect(slow[slow.length - 1]).toBe('25:25');
    // Nobody joined 'dlq': nothing is dropped before its reader comes.
    await p.send('dlq', [{ key: 'k', value: enc('x') }]);
    expect(t.topic('dlq').partitions.reduce((n, q) => n + q.messages.length, 0)).toBe(1);
    await Promise.all([fast.disconnect(), lagging.disconnect()]);
  });

  it('disconnect waits for the in-flight batch and leaves it committed', async () => {
    const t = new InProcessTransport({ defaultPartitions: 1, ...quiet });
    const p = t.producer();
    await p.connect();
    await p.send('t', [{ key: 'a', value: enc('1') }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    let finished = false;
    const c = t.consumer('g');
    await c.connect();
    await c.run('t', async () => {
      started();
      await gate;
      finished = true;
    });
    await inFlight;
    const stopped = c.disconnect();
    release();
    await stopped;
    expect(finished).toBe(true);
    expect(t.lag('g', 't')).toBe(0);
    await p.send('t', [{ key: 'a', value: enc('2') }]);
    expect(t.lag('g', 't')).toBe(1);
  });

  it('splits partitions between members of one group', async () => {
    const t = new InProcessTransport({ defaultPartitions: 4, ...quiet });
    const p = t.producer();
    await p.connect();
    await p.send('t', Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: enc(String(i)) })));
    const parts = [new Set<number>(), new Set<number>()];
    const members = [t.consumer('g'), t.consumer('g')];
    let total = 0;
    for (const [i, m] of members.entries()) {
      await m.connect();
      await m.run('t', async (b) => {
        parts[i]!.add(b.partition);
        total += b.messages.length;
      });
    }
    await t.drained('g', 't', 5_000);
    expect(total).toBe(40);
    for (const p0 of parts[0]!) expect(parts[1]!.has(p0)).toBe(false);
    await Promise.all(members.map((m) => m.disconnect()));
  });

  it('drained() rejects with the remaining lag after its deadline', async () => {
    const t = new InProcessTransport(quiet);
    const p = t.producer();
    await p.connect();
    await p.send('t', [{ key: 'a', value: enc('1') }]);
    await expect(t.drained('nobody', 't', 50)).rejects.toThrow(/lag 1/);
  });

  it('createTransport picks Kafka only when brokers are given', () => {
    expect(createTransport().kind).toBe('inprocess');
    expect(createTransport({ kafkaBrokers: [] }).kind).toBe('inprocess');
    expect(createTransport({ kafkaBrokers: ['127.0.0.1:19092'] }).kind).toBe('kafka');
  });
});
