/**
 * The pipeline end to end on the real engine (chDB, own temp directory) with the
 * in-process transport, and with a hand-driven transport to redeliver a batch exactly.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/errors.ts';
import type { Sample } from '../../core/samples.ts';
import { countExportedSamples } from '../../otlp/encode.ts';
import { countStoredSamples } from '../../pipeline/clickhouseSink.ts';
import { createPipeline } from '../../pipeline/pipeline.ts';
import { migrate } from '../../schema/migrate.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { InProcessTransport } from '../../transport/inprocess.ts';
import { HEADERS, TOPICS, dlqTopicOf, type IncomingBatch, type OutgoingMessage, type Transport } from '../../transport/types.ts';
import { ManualReader, recordTypicalMetrics, sdkFixture } from '../unit/otlp/otlpFixtures.ts';

let storage: Storage;
useTempStorage('pipeline-inprocess', (s) => (storage = s));

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Real OTLP requests from the SDK: `n` messages, one per faculty set, and their sample count. */
async function otlpMessages(n: number): Promise<{ messages: OutgoingMessage[]; samples: number }> {
  const messages: OutgoingMessage[] = [];
  let samples = 0;
  for (let i = 0; i < n; i++) {
    const fx = sdkFixture({ 'service.name': 'ecampus', 'host.name': `web-${i % 4}` });
    recordTypicalMetrics(fx.meter, [`fac-${i % 11}`, 'droit']);
    const { resourceMetrics, bytes } = await fx.collect();
    samples += countExportedSamples(resourceMetrics);
    messages.push({ key: `ecampus/web-${i % 4}`, value: bytes });
    await fx.shutdown();
  }
  return { messages, samples };
}

describe('pipeline over the in-process transport', () => {
  it('stores every decoded sample, sends poison messages to the DLQ with a reason, and keeps consuming', async () => {
    const database = 'p1';
    await migrate(storage.client, { database });
    const selfReader = new ManualReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [selfReader] }));
    const transport = new InProcessTransport({ maxBatchSize: 7 });
    const pipeline = createPipeline({ transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, log: () => undefined });
    const tapped: Sample[] = [];
    pipeline.onSamples((s) => tapped.push(...s));
    await pipeline.start();

    const { messages, samples } = await otlpMessages(20);
    const producer = transport.producer();
    await producer.connect();
    await producer.send(TOPICS.metrics, messages.slice(0, 10));
    await producer.send(TOPICS.metrics, [
      { key: 'ecampus/web-0', value: new TextEncoder().encode('this is not protobuf at all') },
      { key: 'ecampus/web-1', value: new Uint8Array(5 * 1024 * 1024) },
    ]);
    await producer.send(TOPICS.metrics, messages.slice(10));

    await transport.drained('vigie-pipeline', TOPICS.metrics, 60_000);
    expect(await pipeline.drained()).toBe(true);
    expect(await countStoredSamples(storage.client, { database })).toBe(samples);
    expect(tapped.length).toBe(samples);
    const st = pipeline.stats();
    expect(st).toMatchObject({ messages: 22, samplesStored: samples, dlq: 2, rejected: {}, insertErrors: 0 });

    // The DLQ holds both poison messages, unchanged, with reason, detail and origin headers.
    const dlqSeen: { reason: string; origin: string; bytes: number; detail: string; originalBytes: string; truncated: string | undefined }[] = [];
    const dlqConsumer = transport.consumer('dlq-reader');
    await dlqConsumer.connect();
    await dlqConsumer.run(dlqTopicOf(TOPICS.metrics), async (b: IncomingBatch) => {
      for (const m of b.messages) dlqSeen.push({ reason: m.headers[HEADERS.reason]!, origin: m.headers[HEADERS.origin]!, bytes: m.value.byteLength, detail: m.headers[HEADERS.detail]!, originalBytes: m.headers[HEADERS.originalBytes]!, truncated: m.headers[HEADERS.truncated] });
    });
    await waitUntil(() => dlqSeen.length === 2, 10_000, 'two DLQ messages');
    await dlqConsumer.disconnect();
    expect(dlqSeen.map((d) => d.reason).sort()).toEqual(['malformed_otlp', 'oversized']);
    // Bounded envelope: the 5 MiB payload is cut to fit a default (1 MB) DLQ topic.
    const oversized = dlqSeen.find((d) => d.reason === 'oversized')!;
    expect(oversized.bytes).toBeLessThan(1_000_000);
    expect(oversized.truncated).toBe('true');
    expect(oversized.originalBytes).toBe(String(5 * 1024 * 1024));
    for (const d of dlqSeen) expect(d.origin).toMatch(/^otlp_metrics\/\d+\/\d+$/);
    expect(dlqSeen.find((d) => d.reason === 'malformed_otlp')!.detail).toMatch(/cannot decode/);

    // Self-metrics on the global MeterProvider.
    const { resourceMetrics } = await selfReader.collect();
    const byName = new Map(resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).map((m) => [m.descriptor.name, m]));
    const total = (name: string) => (byName.get(name)?.dataPoints ?? []).reduce((a, dp) => a + (dp.value as number), 0);
    expect(total('pipeline.messages')).toBe(22);
    expect(total('pipeline.samples.stored')).toBe(samples);
    expect(total('pipeline.dlq')).toBe(2);
    expect(byName.has('pipeline.clickhouse.insert.duration')).toBe(true);
    expect(byName.has('pipeline.batch.samples')).toBe(true);
    metrics.disable();

    await pipeline.stop();
    await producer.disconnect();
  });
});

/** A transport whose single consumer hands its handler to the test, to replay batches exactly. */
function handDrivenTransport() {
  let handler: ((b: IncomingBatch) => Promise<void>) | undefined;
  const dlq: OutgoingMessage[] = [];
  const transport: Transport = {
    kind: 'inprocess',
    ensureTopics: async () => undefined,
    producer: () => ({ connect: async () => undefined, disconnect: async () => undefined, send: async (_t, ms) => void dlq.push(...ms) }),
    consumer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      lag: async () => 0,
      run: async (_t, h) => {
        handler = h;
      },
    }),
  };
  return { transport, dlq, deliver: (b: IncomingBatch) => handler!(b) };
}

function toBatch(messages: OutgoingMessage[], firstOffset: number, partition = 0): IncomingBatch {
  return {
    topic: TOPICS.metrics,
    partition,
    messages: messages.map((m, i) => ({ key: m.key, value: m.value, headers: {}, offset: String(firstOffset + i), timestampMs: Date.now() })),
  };
}

describe('pipeline delivery guarantees', () => {
  it('a redelivered batch is stored once', async () => {
    const database = 'p2';
    await migrate(storage.client, { database });
    const t = handDrivenTransport();
    const pipeline = createPipeline({ transport: t.transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, log: () => undefined });
    await pipeline.start();
    const { messages, samples } = await otlpMessages(6);
    await t.deliver(toBatch(messages.slice(0, 3), 0));
    await t.deliver(toBatch(messages.slice(0, 3), 0)); // not committed before a crash: redelivered
    await t.deliver(toBatch(messages.slice(3), 3));
    expect(await countStoredSamples(storage.client, { database })).toBe(samples);
    await pipeline.stop();
  });

  it('keeps retrying while storage is down, does not resolve (commit) before the insert is acknowledged', async () => {
    const database = 'p3';
    await migrate(storage.client, { database });
    let failures = 0;
    let down = true;
    let lostAck = true;
    // A client whose inserts fail while `down`, then whose first successful samples insert "loses" its ack.
    const flaky = new Proxy(storage.client, {
      get(target, prop, recv) {
        if (prop !== 'exec') return Reflect.get(target, prop, recv);
        return async (params: Parameters<ClickHouseClient['exec']>[0]) => {
          if (down) {
            failures++;
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
          }
          const r = await target.exec(params);
          if (lostAck && params.query.includes('.samples_ingest ')) {
            lostAck = false;
            throw new UnavailableError('socket hang up after the server stored the rows');
          }
          return r;
        };
      },
    });
    const t = handDrivenTransport();
    const pipeline = createPipeline({ transport: t.transport, storage: { client: flaky, database }, clock: Date.now, retry: { initialMs: 5, maxMs: 20 }, log: () => undefined });
    const tapped: number[] = [];
    pipeline.onSamples((s) => tapped.push(s.length));
    await pipeline.start();
    const { messages, samples } = await otlpMessages(3);
    let resolved = false;
    const handled = t.deliver(toBatch(messages, 0)).then(() => {
      resolved = true;
    });
    await waitUntil(() => failures >= 5, 10_000, 'several failed attempts');
    expect(resolved).toBe(false);
    expect(tapped).toEqual([]);
    down = false;
    await handled;
    expect(await countStoredSamples(storage.client, { database })).toBe(samples);
    expect(tapped).toEqual([samples]);
    expect(pipeline.stats().insertErrors).toBeGreaterThanOrEqual(6);
    await pipeline.stop();
  });

  it('data ClickHouse refuses (non-retriable) goes to the DLQ as insert_rejected, and the batch commits', async () => {
    const database = 'p5';
    await migrate(storage.client, { database });
    const refusing = new Proxy(storage.client, {
      get(target, prop, recv) {
        if (prop === 'exec') return async () => Promise.reject(Object.assign(new Error('Cannot parse input: expected \']\''), { code: '27' }));
        return Reflect.get(target, prop, recv);
      },
    });
    const t = handDrivenTransport();
    const pipeline = createPipeline({ transport: t.transport, storage: { client: refusing, database }, clock: Date.now, log: () => undefined });
    await pipeline.start();
    const { messages } = await otlpMessages(2);
    await t.deliver(toBatch(messages, 40, 3));
    expect(t.dlq.map((m) => [m.headers?.[HEADERS.reason], m.headers?.[HEADERS.origin]])).toEqual([
      ['insert_rejected', 'otlp_metrics/3/40'],
      ['insert_rejected', 'otlp_metrics/3/41'],
    ]);
    expect(pipeline.stats()).toMatchObject({ batches: 1, dlq: 2, samplesStored: 0 });
    await pipeline.stop();
  });

  it('stop() abandons a batch that cannot be stored, uncommitted, after stopTimeoutMs', async () => {
    const database = 'p4';
    await migrate(storage.client, { database });
    const dead = new Proxy(storage.client, {
      get(target, prop, recv) {
        if (prop === 'exec') return async () => Promise.reject(Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' }));
        return Reflect.get(target, prop, recv);
      },
    });
    const t = handDrivenTransport();
    const pipeline = createPipeline({ transport: t.transport, storage: { client: dead, database }, clock: Date.now, retry: { initialMs: 5, maxMs: 20 }, stopTimeoutMs: 200, log: () => undefined });
    await pipeline.start();
    const { messages } = await otlpMessages(1);
    const handled = t.deliver(toBatch(messages, 0));
    await new Promise((r) => setTimeout(r, 50));
    await pipeline.stop();
    await expect(handled).rejects.toThrow(/abandoned uncommitted/);
    expect(pipeline.stats().batches).toBe(0);
  });
});
