/**
 * Issue 11, item 1: nothing the pipeline does not store goes unseen. Points outside the
 * accepted age window produce one log line per reason with a hint and an example series,
 * and empty messages are counted (chDB + the in-process transport).
 */
import { describe, expect, it } from 'vitest';
import { countStoredSamples } from '../../pipeline/clickhouseSink.ts';
import { createPipeline } from '../../pipeline/pipeline.ts';
import { migrate } from '../../schema/migrate.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { InProcessTransport } from '../../transport/inprocess.ts';
import { TOPICS } from '../../transport/types.ts';
import { otlpMessages, waitUntil } from './support-pipeline/fixtures.ts';

let storage: Storage;
useTempStorage('pipeline-visibility', (s) => (storage = s));

describe('rejected samples are visible', () => {
  it('logs one line per reason with a hint and an example, and counts empty messages', async () => {
    const database = 'vis1';
    await migrate(storage.client, { database });
    const transport = new InProcessTransport();
    const lines: string[] = [];
    // The pipeline's "now" is 30 days after the points: every point is too old.
    const clock = () => Date.now() + 30 * 86_400_000;
    const pipeline = createPipeline({ transport, storage: { client: storage.client, database }, clock, log: (l) => lines.push(l), rejectionLogIntervalMs: 100 });
    await pipeline.start();
    const { messages, samples } = await otlpMessages(4);
    const producer = transport.producer();
    await producer.connect();
    await producer.send(TOPICS.metrics, [...messages, { key: 'ecampus/web-0', value: new Uint8Array(0) }]);
    await transport.drained('vigie-pipeline', TOPICS.metrics, 60_000);
    await pipeline.stop(); // flushes the last interval's lines
    await waitUntil(() => lines.some((l) => l.includes('reason=clock_skew')) && lines.some((l) => l.includes('reason=empty_message')), 30_000, 'the rejection log lines');

    const skew = lines.find((l) => l.includes('reason=clock_skew'))!;
    expect(skew).toMatch(/older than 7 days/);
    expect(skew).toContain('--max-age');
    expect(skew).toMatch(/\(e\.g\. [a-z_]+ at \d{4}-\d\d-\d\dT/);
    // One line per reason per interval: over all intervals, the counts add up.
    const counted = lines.filter((l) => l.includes('reason=clock_skew')).reduce((n, l) => n + Number(/count=(\d+)/.exec(l)![1]), 0);
    expect(counted).toBe(samples);
    const s = pipeline.stats();
    expect(s.rejected['clock_skew']).toBe(samples);
    expect(s.emptyMessages).toBe(1);
    expect(s.messages).toBe(5);
    expect(await countStoredSamples(storage.client, { database })).toBe(0);
  });

  it('accepts the same points with a longer maximum age', async () => {
    const database = 'vis2';
    await migrate(storage.client, { database });
    const transport = new InProcessTransport();
    const clock = () => Date.now() + 30 * 86_400_000;
    const pipeline = createPipeline({ transport, storage: { client: storage.client, database }, clock, log: () => undefined, validation: { maxAgeMs: 40 * 86_400_000 } });
    await pipeline.start();
    const { messages, samples } = await otlpMessages(2);
    const producer = transport.producer();
    await producer.connect();
    await producer.send(TOPICS.metrics, messages);
    await transport.drained('vigie-pipeline', TOPICS.metrics, 60_000);
    await pipeline.stop();
    expect(await countStoredSamples(storage.client, { database })).toBe(samples);
  });
});

describe('fuzzed messages through the pipeline', () => {
  it('counts every message, whatever it holds, and keeps consuming', async () => {
    const fc = (await import('fast-check')).default;
    const database = 'vis3';
    await migrate(storage.client, { database });
    const transport = new InProcessTransport({ maxBatchSize: 17 });
    const pipeline = createPipeline({ transport, storage: { client: storage.client, database }, clock: Date.now, log: () => undefined });
    await pipeline.start();
    const { messages, samples } = await otlpMessages(6);
    const base = messages[0]!.value;
    // Real messages with bytes flipped or cut, random bytes, empties, and the originals.
    const fuzzed = fc.sample(
      fc.oneof(
        fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
          const b = Uint8Array.from(base);
          b[at % b.length]! ^= x;
          return b;
        }),
        fc.nat().map((at) => base.subarray(0, at % base.length)),
        fc.uint8Array({ maxLength: 2048 }),
      ),
      { numRuns: 200, seed: 11 },
    );
    const producer = transport.producer();
    await producer.connect();
    await producer.send(TOPICS.metrics, [...fuzzed.map((value, i) => ({ key: `fuzz-${i % 5}`, value })), ...messages]);
    await transport.drained('vigie-pipeline', TOPICS.metrics, 120_000);
    await pipeline.stop();
    const s = pipeline.stats();
    expect(s.messages).toBe(fuzzed.length + messages.length);
    // The intact messages are all stored; the fuzzed ones are stored, rejected, DLQ'd or counted empty.
    expect(s.samplesStored).toBeGreaterThanOrEqual(samples);
    expect(await countStoredSamples(storage.client, { database })).toBe(s.samplesStored);
  });
});
