/**
 * The pipeline on the real Kafka broker of the test stack (`bash scripts/stack.sh start`)
 * and the real engine (chDB, own temp directory).
 */
import { describe, expect, it } from 'vitest';
import { countExportedSamples } from '../../otlp/encode.ts';
import { countStoredSamples } from '../../pipeline/clickhouseSink.ts';
import { createPipeline } from '../../pipeline/pipeline.ts';
import { migrate } from '../../schema/migrate.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import { HEADERS, type IncomingBatch, type OutgoingMessage } from '../../transport/types.ts';
import { recordTypicalMetrics, sdkFixture } from '../unit/otlp/otlpFixtures.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

let storage: Storage;
useTempStorage('pipeline-kafka', (s) => (storage = s));

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('pipeline over Kafka', () => {
  it('stores every sample once across a restart of the consumer group member, DLQs poison messages', async () => {
    const database = 'k1';
    await migrate(storage.client, { database });
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test-pipeline', redeliveryBackoffMs: 50, onHandlerError: () => undefined });
    const topic = uniqueTopic('vigie.test.otlp');
    const dlqTopic = topic + '.dlq';
    const groupId = uniqueTopic('vigie.test.pipeline');
    await transport.ensureTopics([
      { name: topic, partitions: 4 },
      { name: dlqTopic, partitions: 1 },
    ]);

    const messages: OutgoingMessage[] = [];
    let expected = 0;
    for (let i = 0; i < 24; i++) {
      const fx = sdkFixture({ 'service.name': 'ecampus', 'host.name': `web-${i % 6}` });
      recordTypicalMetrics(fx.meter, [`fac-${i % 11}`]);
      const { resourceMetrics, bytes } = await fx.collect();
      expected += countExportedSamples(resourceMetrics);
      messages.push({ key: `ecampus/web-${i % 6}`, value: bytes });
      await fx.shutdown();
    }
    const producer = transport.producer();
    await producer.connect();
    await producer.send(topic, messages.slice(0, 12));
    await producer.send(topic, [{ key: 'ecampus/web-0', value: new TextEncoder().encode('garbage, not OTLP') }]);

    const opts = { transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, topic, dlqTopic, groupId, log: () => undefined };
    const first = createPipeline(opts);
    await first.start();
    await waitUntil(async () => (await first.drained()) && first.stats().messages === 13, 60_000, 'first member to drain');
    await first.stop();

    await producer.send(topic, messages.slice(12));
    const second = createPipeline(opts);
    await second.start();
    await waitUntil(async () => (await second.drained()) && second.stats().messages === 12, 60_000, 'second member to drain');
    await second.stop();

    expect(await countStoredSamples(storage.client, { database })).toBe(expected);
    expect(first.stats().dlq + second.stats().dlq).toBe(1);

    const dlqConsumer = transport.consumer(uniqueTopic('vigie.test.dlqreader'));
    await dlqConsumer.connect();
    const reasons: string[] = [];
    await dlqConsumer.run(dlqTopic, async (b: IncomingBatch) => {
      for (const m of b.messages) reasons.push(m.headers[HEADERS.reason] ?? '?');
    });
    await waitUntil(() => reasons.length === 1, 30_000, 'the DLQ message');
    await dlqConsumer.disconnect();
    expect(reasons).toEqual(['malformed_otlp']);
    await producer.disconnect();
  });
});
