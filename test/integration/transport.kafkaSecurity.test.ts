/**
 * Issue 11, item 5: Kafka over SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS, on a
 * private broker started with those listeners. Each configuration produces and consumes
 * one message through `createTransport` as `vigie ingest` builds it; a wrong password and
 * an unknown CA fail with a message that says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransport, type CreateTransportOptions } from '../../transport/index.ts';
import type { IncomingBatch } from '../../transport/types.ts';
import { startPrivateKafka, type PrivateKafka } from './support/privateKafka.ts';
import { uniqueTopic } from './support/kafka.ts';
import { waitUntil } from './support-pipeline/fixtures.ts';
import { describeError } from '../../core/errors.ts';

let kafka: PrivateKafka;
beforeAll(async () => {
  kafka = await startPrivateKafka({ security: true });
}, 240_000);
afterAll(async () => {
  await kafka?.destroy();
});

async function roundTrip(opts: CreateTransportOptions): Promise<string> {
  const transport = createTransport({ clientId: 'vigie-test-security', log: () => undefined, env: {}, ...opts });
  const topic = uniqueTopic('vigie.test.sec');
  await transport.ensureTopics([{ name: topic, partitions: 1 }]);
  const producer = transport.producer();
  await producer.connect();
  await producer.send(topic, [{ key: 'k', value: new TextEncoder().encode('hello over ' + JSON.stringify(opts.sasl?.mechanism ?? 'tls')) }]);
  await producer.disconnect();
  const consumer = transport.consumer(uniqueTopic('vigie.test.secgroup'));
  await consumer.connect();
  let got = '';
  await consumer.run(topic, async (b: IncomingBatch) => {
    got = new TextDecoder().decode(b.messages[0]!.value);
  });
  await waitUntil(() => got !== '', 60_000, 'the message back');
  await consumer.disconnect();
  return got;
}

describe('Kafka security', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`authenticates with SASL ${mechanism}`, async () => {
      expect(await roundTrip({ kafkaBrokers: [kafka.saslBroker], sasl: { mechanism, username: 'vigie', password: kafka.saslPassword } })).toContain(mechanism);
    });
  }

  it('speaks TLS with the CA file and SCRAM, the password from VIGIE_KAFKA_PASSWORD', async () => {
    const got = await roundTrip({
      kafkaBrokers: [kafka.saslSslBroker],
      tls: { caFile: kafka.caFile },
      sasl: { mechanism: 'scram-sha-512', username: 'vigie' },
      env: { VIGIE_KAFKA_PASSWORD: kafka.saslPassword },
    });
    expect(got).toContain('scram-sha-512');
  });

  it('refuses a wrong password and a certificate from an unknown CA, naming the cause', async () => {
    const bad = createTransport({ kafkaBrokers: [kafka.saslBroker], sasl: { mechanism: 'scram-sha-256', username: 'vigie', password: 'nope' }, clientId: 'vigie-test-bad', log: () => undefined, env: {} });
    const e1 = await bad.ensureTopics([{ name: uniqueTopic('vigie.test.bad'), partitions: 1 }]).then(() => null, (e: unknown) => e);
    expect(describeError(e1)).toMatch(/SASL|authentication/i);
    const noCa = createTransport({ kafkaBrokers: [kafka.saslSslBroker], tls: {}, sasl: { mechanism: 'plain', username: 'vigie', password: kafka.saslPassword }, clientId: 'vigie-test-noca', log: () => undefined, env: {} });
    const e2 = await noCa.ensureTopics([{ name: uniqueTopic('vigie.test.noca'), partitions: 1 }]).then(() => null, (e: unknown) => e);
    expect(describeError(e2)).toMatch(/certificate|self.signed|Connection/i);
  });
});
