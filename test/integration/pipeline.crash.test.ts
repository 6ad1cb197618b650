/**
 * Crash test on the real broker and the real engine: a pipeline process is SIGKILLed
 * right after an insert was acknowledged and before its batch was committed; a second
 * process resumes with the same consumer group and the same chDB directory, with other
 * insert boundaries. Stored must equal produced: nothing lost, nothing twice.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { countStoredSamples } from '../../pipeline/clickhouseSink.ts';
import { TABLES } from '../../schema/tables.ts';
import { createStorage } from '../../pipeline/storage.ts';
import { partitionForKey } from '../../transport/inprocess.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import { otlpMessages } from './support-pipeline/fixtures.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

const CHILD = fileURLToPath(new URL('./support-pipeline/pipelineChild.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vigie-pipeline-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the pipeline child to its end (drained, or killed); chDB allows one process per directory. */
function runChild(env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('pipeline crash between insert ack and offset commit (real Kafka, chDB, two processes)', () => {
  it('a second process on the same group and chDB directory stores exactly what was produced', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test-crash-parent', logLevel: 'error' });
    const topic = uniqueTopic('vigie.test.crash');
    const groupId = uniqueTopic('vigie.test.crash.group');
    await transport.ensureTopics([
      { name: topic, partitions: 4 },
      { name: topic + '.dlq', partitions: 1 },
    ]);
    const { messages, samples } = await otlpMessages(48, 8);
    const producer = transport.producer();
    await producer.connect();
    await producer.send(topic, messages);
    await producer.disconnect();

    const env = { VIGIE_KAFKA_BROKERS: kafkaBrokers().join(','), VIGIE_TEST_TOPIC: topic, VIGIE_TEST_GROUP: groupId, VIGIE_TEST_CHDB: dir, VIGIE_TEST_DATABASE: 'crash' };
    // First process: one message per insert, killed right after its 6th acknowledged insert.
    const first = await runChild({ ...env, VIGIE_TEST_MAX_BATCH_SAMPLES: '1', VIGIE_TEST_KILL_AFTER_INSERTS: '6' });
    expect(first.signal, first.stderr).toBe('SIGKILL');
    expect(first.stderr.match(/child insert acked/g)?.length).toBe(6);

    // Second process: same group, same directory, whole batches per insert (other boundaries).
    const second = await runChild(env);
    expect(second.code, second.stderr).toBe(0);
    const stats = JSON.parse(second.stdout.trim().split('\n').pop()!) as { messages: number; samplesStored: number; skippedRedelivered: number; dlq: number };
    expect(stats.skippedRedelivered).toBeGreaterThanOrEqual(1);
    expect(stats.dlq).toBe(0);

    const storage = createStorage({ chdbPath: dir });
    try {
      expect(await countStoredSamples(storage.client, { database: 'crash' })).toBe(samples);
      const rs = await storage.client.query({ query: `SELECT sum(count) AS n FROM crash.${TABLES.samples1m}`, format: 'JSONEachRow' });
      expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(samples);
      // Every partition's high-water mark is its last produced offset (a fresh topic; the
      // in-process partitioner is Kafka's default one).
      const perPartition = new Map<number, number>();
      for (const m of messages) {
        const p = partitionForKey(m.key, 4);
        perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
      }
      const offsets = await storage.client.query({ query: `SELECT source_partition AS p, toString(offset) AS o FROM crash.${TABLES.ingestOffsets} ORDER BY p`, format: 'JSONEachRow' });
      expect(await offsets.json<{ p: number; o: string }>()).toEqual(
        [...perPartition.entries()].sort((a, b) => a[0] - b[0]).map(([p, n]) => ({ p, o: String(n - 1) })),
      );
      // The second process stored what the first had not committed, minus what it had stored.
      expect(stats.samplesStored).toBeLessThan(samples);
      process.stderr.write(`crash test: produced ${samples} samples in ${messages.length} messages; second process: ${JSON.stringify(stats)}\n`);
    } finally {
      await storage.close();
    }
  });
});
