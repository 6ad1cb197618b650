/**
 * A pipeline process for crash tests: Kafka → pipeline → chDB at a given directory, run
 * until the group has committed everything produced, then one JSON line of stats on
 * stdout. With VIGIE_TEST_KILL_AFTER_INSERTS=N it SIGKILLs itself right after the N-th
 * acknowledged insert, before the batch's offsets are committed (a deterministic crash).
 *
 * Env: VIGIE_KAFKA_BROKERS, VIGIE_TEST_TOPIC, VIGIE_TEST_GROUP, VIGIE_TEST_CHDB,
 * VIGIE_TEST_DATABASE, VIGIE_TEST_MAX_BATCH_SAMPLES (optional).
 */
import { createPipeline } from '../../../pipeline/pipeline.ts';
import { migrate } from '../../../schema/migrate.ts';
import { createStorage } from '../../../pipeline/storage.ts';
import { KafkaTransport } from '../../../transport/kafka.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const killAfter = Number(process.env['VIGIE_TEST_KILL_AFTER_INSERTS'] ?? '0');
const maxBatchSamples = process.env['VIGIE_TEST_MAX_BATCH_SAMPLES'] ? Number(process.env['VIGIE_TEST_MAX_BATCH_SAMPLES']) : undefined;
const topic = env('VIGIE_TEST_TOPIC');
const database = env('VIGIE_TEST_DATABASE');

const storage = createStorage({ chdbPath: env('VIGIE_TEST_CHDB') });
await migrate(storage.client, { database });
const transport = new KafkaTransport({ brokers: env('VIGIE_KAFKA_BROKERS').split(','), clientId: 'vigie-test-crash', redeliveryBackoffMs: 50, logLevel: 'error', onHandlerError: () => undefined });
let acked = 0;
const pipeline = createPipeline({
  transport,
  storage: { client: storage.client, database },
  clock: Date.now,
  topic,
  dlqTopic: topic + '.dlq',
  groupId: env('VIGIE_TEST_GROUP'),
  ...(maxBatchSamples !== undefined ? { maxBatchSamples } : {}),
  log: (line) => process.stderr.write(line + '\n'),
  afterInsert: (ack) => {
    acked++;
    process.stderr.write(`child insert acked ${ack.topic}/${ack.partition} ${ack.firstOffset}-${ack.lastOffset}${ack.repair ? ' (repair)' : ''}\n`);
    if (killAfter > 0 && acked >= killAfter) process.kill(process.pid, 'SIGKILL');
  },
});
await pipeline.start();
const deadline = Date.now() + 120_000;
while (!(await pipeline.drained())) {
  if (Date.now() > deadline) throw new Error(`not drained after 120 s (lag ${await pipeline.lag()})`);
  await new Promise((r) => setTimeout(r, 200));
}
await pipeline.stop();
await storage.close();
process.stdout.write(JSON.stringify(pipeline.stats()) + '\n');
