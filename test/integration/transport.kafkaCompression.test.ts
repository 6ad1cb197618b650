/**
 * Producer compression against the real broker: what the collectors send as gzip record
 * batches comes back byte for byte through an ordinary consumer group, and the producer's
 * own counts show the saving (compressed record batches against message bytes), with the
 * same messages sent uncompressed in the same test as the baseline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBatch, type PointBatch } from '../../collectors/pointBatch.ts';
import { HTTP_DURATION_BUCKETS } from '../../collectors/meters.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import type { OutgoingMessage, ProducerCompression, TransportConsumer, TransportProducer } from '../../transport/index.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

/** An access-log export: request histograms by faculty, route and status, as the collector sends them. */
function accessLogExport(i: number): OutgoingMessage {
  const points = [];
  for (const faculty of ['law', 'medicine', 'sciences', 'hec']) {
    for (const route of ['/login/index.php', '/mod/quiz/attempt.php', '/course/view.php']) {
      for (const status of ['200', '302', '503']) {
        const bucketCounts = HTTP_DURATION_BUCKETS.map((_, b) => (i * 7 + b * 13) % 97).concat([i % 5]);
        points.push({ attributes: { faculty, 'http.route': route, 'http.request.method': 'GET', 'http.response.status_code': status }, bucketCounts, sum: i * 1.5, count: bucketCounts.reduce((a, b) => a + b, 0) });
      }
    }
  }
  const batch: PointBatch = {
    resource: { 'service.name': 'ecampus', 'host.name': 'web-1' },
    scope: 'vigie.collectors.accesslog',
    timeMs: 1_796_000_000_000 + i * 15_000,
    metrics: [{ kind: 'histogram', name: 'http.server.request.duration', unit: 's', bounds: [...HTTP_DURATION_BUCKETS], points }],
  };
  return { key: 'ecampus/web-1', value: encodeBatch(batch) };
}

describe('Kafka producer compression', () => {
  const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test-compression' });
  const open: (TransportConsumer | TransportProducer)[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.disconnect().catch(() => undefined)));
  });

  async function roundTrip(compression: ProducerCompression, messages: readonly OutgoingMessage[]) {
    const topic = uniqueTopic(`vigie.test.compression.${compression}`);
    await transport.ensureTopics([{ name: topic, partitions: 1 }]);
    const p = transport.producer({ compression });
    await p.connect();
    open.push(p);
    for (let i = 0; i < messages.length; i += 10) await p.send(topic, messages.slice(i, i + 10));
    const counts = p.byteCounts!();
    const c = transport.consumer(uniqueTopic('vigie.test.compression.group'));
    await c.connect();
    open.push(c);
    const received: Uint8Array[] = [];
    await c.run(topic, async (batch) => {
      for (const m of batch.messages) received.push(m.value);
    });
    const deadline = Date.now() + 60_000;
    while (received.length < messages.length) {
      if (Date.now() > deadline) throw new Error(`${compression}: ${received.length} of ${messages.length} messages consumed within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { counts, received };
  }

  it('gzip batches arrive intact and cost a fraction of the uncompressed bytes on the wire', async () => {
    const messages = Array.from({ length: 40 }, (_, i) => accessLogExport(i));
    const plain = await roundTrip('none', messages);
    const gzip = await roundTrip('gzip', messages);
    for (const r of [plain, gzip]) {
      expect(r.received.map((v) => Buffer.from(v).toString('base64'))).toEqual(messages.map((m) => Buffer.from(m.value).toString('base64')));
    }
    const messageBytes = messages.reduce((n, m) => n + m.value.byteLength + m.key.length, 0);
    expect(plain.counts.messageBytes).toBe(messageBytes);
    expect(gzip.counts.messageBytes).toBe(messageBytes);
    expect(plain.counts.sentBytes).toBe(messageBytes);
    expect(gzip.counts.sentBytes).toBeGreaterThan(0);
    expect(gzip.counts.sentBytes).toBeLessThan(messageBytes / 3);
    console.log(`[compression] ${messageBytes} message bytes sent as ${gzip.counts.sentBytes} bytes with gzip`);
  });
});
