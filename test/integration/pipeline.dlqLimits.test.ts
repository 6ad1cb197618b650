/**
 * Issue 11, item 2, on the real broker: an input topic that allows 5 MB messages and a
 * DLQ topic with Kafka's default 1 MB limit. A 3 MB poison message must reach the DLQ as
 * a bounded (truncated) envelope, and every other partition must keep flowing; before,
 * the full copy was refused by the DLQ and retried forever.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { countStoredSamples } from '../../pipeline/clickhouseSink.ts';
import { createPipeline } from '../../pipeline/pipeline.ts';
import { migrate } from '../../schema/migrate.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import { HEADERS, dlqTopicOf, type IncomingBatch, type IncomingMessage } from '../../transport/types.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { otlpMessages, waitUntil } from './support-pipeline/fixtures.ts';

let storage: Storage;
useTempStorage('pipeline-dlqlimits', (s) => (storage = s));

describe('a poison message larger than the DLQ allows', () => {
  it('goes to the DLQ truncated, and the stream goes on', async () => {
    const database = 'dlq1';
    await migrate(storage.client, { database });
    const topic = uniqueTopic('vigie.test.big');
    const dlqTopic = dlqTopicOf(topic);
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 4, configEntries: [{ name: 'max.message.bytes', value: String(5 * 1024 * 1024) }] },
        { topic: dlqTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();

    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test-dlqlimits', redeliveryBackoffMs: 50, onHandlerError: () => undefined });
    const { messages, samples } = await otlpMessages(12);
    const producer = transport.producer();
    await producer.connect();
    const poison = new Uint8Array(3 * 1024 * 1024).fill(0xff);
    // The poison message first on its partition, good messages on every partition after it.
    await producer.send(topic, [{ key: 'ecampus/web-0', value: poison }]);
    await producer.send(topic, messages);

    const lines: string[] = [];
    const pipeline = createPipeline({ transport, storage: { client: storage.client, database }, clock: Date.now, topic, groupId: uniqueTopic('vigie.test.dlqlimits'), log: (l) => lines.push(l) });
    await pipeline.start();
    try {
      await waitUntil(async () => pipeline.stats().messages === 13 && (await pipeline.drained()), 90_000, 'every message, poison included, to be committed');
    } finally {
      await pipeline.stop();
    }
    expect(await countStoredSamples(storage.client, { database })).toBe(samples);
    expect(pipeline.stats().dlq).toBe(1);
    expect(pipeline.stats().dlqFailed).toBe(0);

    const reader = transport.consumer(uniqueTopic('vigie.test.dlqreader'));
    await reader.connect();
    const got: IncomingMessage[] = [];
    await reader.run(dlqTopic, async (b: IncomingBatch) => void got.push(...b.messages));
    await waitUntil(() => got.length === 1, 30_000, 'the DLQ message');
    await reader.disconnect();
    await producer.disconnect();
    const m = got[0]!;
    expect(m.headers[HEADERS.reason]).toBe('malformed_otlp');
    expect(m.headers[HEADERS.truncated]).toBe('true');
    expect(m.headers[HEADERS.originalBytes]).toBe(String(poison.byteLength));
    expect(m.headers[HEADERS.origin]).toMatch(new RegExp(`^${topic.replace(/\./g, '\\.')}/\\d+/0$`));
    expect(m.value.byteLength).toBeLessThan(1024 * 1024);
    expect(m.value.byteLength).toBeGreaterThan(500_000);
  });

  it('is counted, logged and skipped when the DLQ refuses even its headers', async () => {
    const database = 'dlq2';
    await migrate(storage.client, { database });
    const topic = uniqueTopic('vigie.test.nodlq');
    const dlqTopic = dlqTopicOf(topic);
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 2 },
        // Smaller than any envelope: nothing can be dead-lettered here.
        { topic: dlqTopic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '100' }] },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test-nodlq', redeliveryBackoffMs: 50, onHandlerError: () => undefined });
    const { messages, samples } = await otlpMessages(6);
    const producer = transport.producer();
    await producer.connect();
    await producer.send(topic, [{ key: 'ecampus/web-1', value: new TextEncoder().encode('not protobuf') }, ...messages]);
    await producer.disconnect();
    const lines: string[] = [];
    const pipeline = createPipeline({ transport, storage: { client: storage.client, database }, clock: Date.now, topic, groupId: uniqueTopic('vigie.test.nodlq'), log: (l) => lines.push(l) });
    await pipeline.start();
    try {
      await waitUntil(async () => pipeline.stats().messages === 7 && (await pipeline.drained()), 90_000, 'every message to be committed');
    } finally {
      await pipeline.stop();
    }
    expect(await countStoredSamples(storage.client, { database })).toBe(samples);
    expect(pipeline.stats().dlqFailed).toBe(1);
    expect(pipeline.stats().dlq).toBe(0);
    expect(lines.some((l) => l.startsWith('vigie pipeline.dlq_failed') && l.includes('reason=malformed_otlp'))).toBe(true);
    expect(lines.some((l) => l.includes('reason=dlq_failed count=1'))).toBe(true);
  });
});
