/**
 * Readiness probe used by scripts/stack.sh: exits 0 once the broker at argv[2]
 * answers a metadata request (kafkajs admin listTopics), 1 otherwise.
 */
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const broker = process.argv[2] ?? process.env['VIGIE_KAFKA_BROKERS'] ?? '127.0.0.1:19092';
const admin = new Kafka({
  clientId: 'vigie-stack-ready',
  brokers: broker.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2_000,
  requestTimeout: 5_000,
  retry: { retries: 0 },
}).admin();

try {
  await admin.connect();
  await admin.listTopics();
  await admin.disconnect();
  process.exit(0);
} catch (err) {
  console.error(`kafka not ready at ${broker}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
