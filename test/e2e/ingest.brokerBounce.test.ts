/**
 * Issue 11, item 6, as an operator runs it: `vigie ingest` on a private broker that is
 * stopped and started again. The operator sees one Vigie line per state change and no
 * raw client errors, `/metrics` answers at once while the broker is away, every sample
 * is stored after the bounce, SIGTERM leaves the group and the process exits; with the
 * broker gone, SIGTERM still exits within the configured bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../transport/kafka.ts';
import { freePort } from '../support/daemon.ts';
import { startPrivateKafka, type PrivateKafka } from '../integration/support/privateKafka.ts';
import { uniqueTopic } from '../integration/support/kafka.ts';
import { otlpMessages, waitUntil } from '../integration/support-pipeline/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vigie-bounce-'));
let kafka: PrivateKafka;
beforeAll(async () => {
  kafka = await startPrivateKafka();
}, 240_000);
afterAll(async () => {
  await kafka?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Ingest {
  readonly child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function startIngest(args: string[]): Ingest {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function scrape(url: string): Promise<{ ms: number; text: string }> {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { ms: performance.now() - t0, text };
}

/** `waitUntil` whose failure shows what the process printed. */
async function waitFor(ingest: Ingest, cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  try {
    await waitUntil(cond, timeoutMs, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; vigie ingest printed:\n${ingest.stderr()}`);
  }
}

function storedOf(text: string): number {
  const m = /^pipeline_samples_stored(?:_total)?(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('vigie ingest through a broker bounce', () => {
  it('reports the outage in one line each way, stays scrapeable, stores everything, and leaves the group on SIGTERM', async () => {
    const topic = uniqueTopic('vigie.test.bounce');
    const group = uniqueTopic('vigie.test.bouncegroup');
    const port = await freePort();
    const transport = new KafkaTransport({ brokers: [kafka.broker], clientId: 'vigie-test-bounce', logLevel: 'nothing', log: () => undefined });
    await transport.ensureTopics([{ name: topic, partitions: 4 }]);
    const producer = transport.producer();
    await producer.connect();
    const first = await otlpMessages(8);
    await producer.send(topic, first.messages);
    await producer.disconnect();

    const ingest = startIngest(['ingest', '--kafka', kafka.broker, '--topic', topic, '--group', group, '--chdb-path', join(dir, 'chdb'), '--metrics-port', String(port)]);
    const metrics = `http://127.0.0.1:${port}/metrics`;
    try {
      await waitFor(ingest, async () => storedOf((await scrape(metrics).catch(() => ({ text: '' }))).text) === first.samples, 240_000, `the first ${first.samples} samples to be stored`);

      await kafka.stop();
      await waitFor(ingest, () => ingest.stderr().includes('vigie transport.kafka.broker_lost'), 90_000, `a broker_lost line`);
      const slowest = Math.max(...(await Promise.all([0, 1, 2, 3, 4].map(async (i) => {
        await new Promise((r) => setTimeout(r, i * 300));
        return (await scrape(metrics)).ms;
      }))));
      // Before: 5–8.5 s while the broker was away (the scrape awaited a lag query).
      expect(slowest).toBeLessThan(1000);

      await kafka.start();
      await waitFor(ingest, () => ingest.stderr().includes('vigie transport.kafka.reconnected'), 120_000, `a reconnected line`);
      const again = new KafkaTransport({ brokers: [kafka.broker], clientId: 'vigie-test-bounce2', logLevel: 'nothing', log: () => undefined }).producer();
      await again.connect();
      const second = await otlpMessages(6);
      await again.send(topic, second.messages);
      await again.disconnect();
      await waitFor(ingest, async () => storedOf((await scrape(metrics)).text) === first.samples + second.samples, 120_000, `every sample after the bounce`);

      const t0 = Date.now();
      ingest.child.kill('SIGTERM');
      const code = await ingest.exited;
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const err = ingest.stderr();
      expect(err).toMatch(/vigie ingest: stopped; \d+ messages, \d+ samples stored, 0 to DLQ, 0 empty; rejected: none/);
      expect(err.split('\n').filter((l) => l.startsWith('kafkajs'))).toEqual([]);
      const lost = err.split('\n').filter((l) => l.includes('broker_lost')).length;
      expect(lost).toBeGreaterThanOrEqual(1);
      expect(lost).toBeLessThanOrEqual(3);

      // Left the group: no member remains (not waiting out the 30 s session timeout).
      const admin = new kafkajs.Kafka({ brokers: [kafka.broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      const { groups } = await admin.describeGroups([group]);
      await admin.disconnect();
      expect(groups[0]?.members ?? []).toEqual([]);
    } finally {
      if (ingest.child.exitCode === null) ingest.child.kill('SIGKILL');
    }
  }, 600_000);

  it('exits within the shutdown bound on SIGTERM while the broker is gone', async () => {
    const topic = uniqueTopic('vigie.test.bounce');
    const group = uniqueTopic('vigie.test.bouncegroup');
    const config = join(dir, 'short.yml');
    writeFileSync(config, 'pipeline:\n  shutdownTimeoutMs: 5000\nselfTelemetry:\n  port: 0\n');
    const ingest = startIngest(['--config', config, 'ingest', '--kafka', kafka.broker, '--topic', topic, '--group', group, '--chdb-path', join(dir, 'chdb2')]);
    try {
      await waitFor(ingest, () => ingest.stderr().includes(`consuming ${topic}`), 120_000, `ingest to start`);
      await kafka.stop();
      await waitFor(ingest, () => ingest.stderr().includes('broker_lost'), 90_000, `a broker_lost line`);
      const t0 = Date.now();
      ingest.child.kill('SIGTERM');
      await ingest.exited;
      expect(Date.now() - t0).toBeLessThan(5000 + 3000);
      expect(ingest.stderr()).toMatch(/vigie ingest: (stopped|shutdown did not finish)/);
    } finally {
      if (ingest.child.exitCode === null) ingest.child.kill('SIGKILL');
      await kafka.start();
    }
  }, 400_000);
});
