/**
 * Issue 11, item 9, as an operator scales out: three `vigie ingest --no-rules` processes
 * in one consumer group on the real broker (a 6-partition topic), started one after the
 * other while a producer streams, one stopped gracefully, one `kill -9`ed while it
 * stores. Every produced sample is stored exactly once: stored = produced, and no
 * (series, timestamp) twice.
 *
 * The three share one database, as scaled-out ingest must: the exactly-once state (each
 * partition's stored high-water mark, `ingest_offsets`) lives in the store, and a
 * partition that moves after a crash is only skipped correctly where its new owner reads
 * the old owner's mark. Production points every instance at one ClickHouse server or
 * cluster (`--clickhouse-url`); no ClickHouse server can be installed here, so the shared
 * database is chDB served read-write over the ClickHouse HTTP interface by
 * `vigie store serve`, and the instances reach it through `@clickhouse/client`, the code
 * path a server uses. (Separate embedded stores per instance would break exactly-once: a
 * batch stored by the killed instance and not yet committed would be stored again by the
 * partition's next owner, in another store.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorage } from '../../pipeline/storage.ts';
import { TABLES } from '../../schema/tables.ts';
import { decodeMetricsRequest, toSamples } from '../../otlp/decode.ts';
import { encodeRequestObject } from '../../otlp/request.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import type { OutgoingMessage } from '../../transport/types.ts';
import { freePort } from '../support/daemon.ts';
import { untilStalled } from '../support/progress.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { waitUntil } from './support-pipeline/fixtures.ts';
import { scrapeSum, startVigie, type VigieProcess } from './support/vigieProcess.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-scaleout-'));
const started: VigieProcess[] = [];
afterAll(async () => {
  for (const p of started) await p.kill9();
  rmSync(dir, { recursive: true, force: true });
});

const HOSTS = 24;
const POINTS_PER_MESSAGE = 4;

/** One OTLP message of host `h`, its `seq`-th: a gauge with 4 series, all at one timestamp unique to (h, seq). */
function probeMessage(h: number, seq: number, baseMs: number): OutgoingMessage {
  const tsNs = String(BigInt(baseMs + seq * 1000) * 1_000_000n);
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const request = {
    resourceMetrics: [
      {
        resource: { attributes: [str('service.name', 'scaleout'), str('host.name', `h${h}`)] },
        scopeMetrics: [
          {
            scope: { name: 'vigie-test' },
            metrics: [
              {
                name: 'scaleout.probe',
                gauge: { dataPoints: Array.from({ length: POINTS_PER_MESSAGE }, (_, slot) => ({ attributes: [str('slot', String(slot)), str('faculty', `fac-${h % 11}`)], timeUnixNano: tsNs, asDouble: seq })) },
              },
            ],
          },
        ],
      },
    ],
  };
  return { key: `scaleout/h${h}`, value: encodeRequestObject(request) };
}

describe('vigie ingest scaled out: three instances in one consumer group (real Kafka, shared store)', () => {
  it('stores every sample exactly once through staggered joins, a graceful stop and a kill -9', async () => {
    const brokers = kafkaBrokers();
    const topic = uniqueTopic('vigie.test.scaleout');
    const group = uniqueTopic('vigie.test.scaleout.group');
    const transport = new KafkaTransport({ brokers, clientId: 'vigie-test-scaleout', logLevel: 'error' });
    await transport.ensureTopics([
      { name: topic, partitions: 6 },
      { name: `${topic}.dlq`, partitions: 1 },
    ]);

    const store = startVigie('store', ['store', 'serve', '--chdb-path', join(dir, 'chdb'), '--database', 'scaleout', '--http-port', '0'], { cwd: dir });
    started.push(store);
    const url = (await store.waitForOutput(/read-write at (http:\/\/\S+)/, 120_000))[1]!;

    const ingest = async (name: string): Promise<{ p: VigieProcess; metrics: string }> => {
      const port = await freePort();
      const p = startVigie(name, ['ingest', '--kafka', brokers[0]!, '--topic', topic, '--group', group, '--clickhouse-url', url, '--database', 'scaleout', '--no-rules', '--metrics-port', String(port)], { cwd: dir });
      started.push(p);
      await p.waitForOutput(/consuming .* as group .* \(no rules\)/, 120_000);
      return { p, metrics: `http://127.0.0.1:${port}/metrics` };
    };
    const stored = (m: string) => scrapeSum(m, 'pipeline_samples_stored_total').catch(() => 0);

    // The producer streams until told to stop: one message per host per round.
    const producer = transport.producer();
    await producer.connect();
    const baseMs = Date.now() - 3_600_000;
    let rounds = 0;
    let produce = true;
    const producing = (async () => {
      while (produce) {
        await producer.send(topic, Array.from({ length: HOSTS }, (_, h) => probeMessage(h, rounds, baseMs)));
        rounds++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    /** Waits until an instance's stored-samples counter exceeds `above`; returns it. */
    const waitStored = async (who: VigieProcess, m: string, above: number): Promise<number> => {
      let n = 0;
      try {
        await waitUntil(async () => (n = await stored(m)) > above, 180_000, `${who.name} to store more than ${above} samples`);
      } catch (err) {
        throw new Error(`${(err as Error).message}; it printed:\n${who.output()}`);
      }
      return n;
    };

    // A, then B, then C join while the stream runs: each join is a rebalance.
    const a = await ingest('ingest-a');
    await waitStored(a.p, a.metrics, 0);
    const b = await ingest('ingest-b');
    await waitStored(b.p, b.metrics, 0);
    const c = await ingest('ingest-c');
    const cFirst = await waitStored(c.p, c.metrics, 0);
    // B leaves gracefully (its in-flight batch committed, the group rebalances at once).
    expect(await b.p.stop(), b.p.output()).toBe(0);
    expect(b.p.output()).toMatch(/stopped; \d+ messages, [1-9][\d]* samples stored/);
    // C is killed while it stores: the moment its count moves again, it is busy with a batch.
    await waitStored(c.p, c.metrics, cFirst);
    await c.p.kill9();
    // The stream goes on; A takes C's partitions once the group notices C is gone.
    const roundsAtKill = rounds;
    await untilStalled('stream after the kill', async (beat) => {
      while (rounds < roundsAtKill + 40) {
        beat(`round ${rounds}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    produce = false;
    await producing;
    await producer.disconnect();

    // What was produced, decoded by the same decoder (sample count per message is fixed).
    const oneMessage = toSamples(decodeMetricsRequest(probeMessage(0, 0, baseMs).value), { nowMs: Date.now() }).samples.length;
    expect(oneMessage).toBe(POINTS_PER_MESSAGE);
    const produced = rounds * HOSTS * oneMessage;

    const reader = createStorage({ url, database: 'scaleout' });
    const count = async () => {
      const rs = await reader.client.query({
        query: `SELECT count() AS n, uniqExact(fingerprint, timestamp) AS distinct_points FROM scaleout.${TABLES.samples}`,
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ n: string; distinct_points: string }>();
      return { n: Number(row!.n), distinct: Number(row!.distinct_points) };
    };
    try {
      // A alone drains the rest (after the group's session timeout hands it C's partitions).
      let last = -1;
      await untilStalled('ingest-a draining', async (beat) => {
        for (;;) {
          const { n } = await count();
          if (n >= produced) return;
          if (n !== last) beat(`stored ${n} of ${produced}`);
          last = n;
          await new Promise((r) => setTimeout(r, 500));
        }
      }, 120_000);
      const skipped = await scrapeSum(a.metrics, 'pipeline_messages_skipped_redelivered_total');
      expect(await a.p.stop(), a.p.output()).toBe(0);

      const { n, distinct } = await count();
      expect(n).toBe(produced);
      expect(distinct).toBe(produced);
      const rollup = await reader.client.query({ query: `SELECT sum(count) AS n FROM scaleout.${TABLES.samples1m}`, format: 'JSONEachRow' });
      expect(Number((await rollup.json<{ n: string }>())[0]!.n)).toBe(produced);
      // Six partitions, each with a stored high-water mark.
      const marks = await reader.client.query({ query: `SELECT count() AS n FROM scaleout.${TABLES.ingestOffsets} WHERE source_topic = {t:String}`, query_params: { t: topic }, format: 'JSONEachRow' });
      expect(Number((await marks.json<{ n: string }>())[0]!.n)).toBe(6);
      process.stderr.write(
        `scale-out test: produced ${produced} samples in ${rounds * HOSTS} messages; stored ${n}, distinct ${distinct}; ` +
          `ingest-c stored ≥ ${cFirst} before its kill -9; ingest-a skipped ${skipped} redelivered messages already stored by another instance\n`,
      );
    } finally {
      await reader.close();
    }
    expect(await store.stop(), store.output()).toBe(0);
  });
});
