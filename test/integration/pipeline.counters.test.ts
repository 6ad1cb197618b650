/**
 * Counter increases computed at ingest (pipeline/counterDeltas.ts), end to end on chDB:
 * real OTLP messages from the SDK through the pipeline into `samples.delta` and
 * `counters_1m`. A counter reset (the process restarted: a fresh SDK) yields the new
 * value as the increase; a redelivered batch does not double `counters_1m`; a restarted
 * pipeline reads the last stored point once instead of starting the series over; the
 * crash repair of an insert stores the increases the original insert computed.
 */
import { describe, expect, it } from 'vitest';
import { createPipeline } from '../../pipeline/pipeline.ts';
import { migrate } from '../../schema/migrate.ts';
import { TABLES } from '../../schema/tables.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import type { OutgoingMessage } from '../../transport/types.ts';
import { sdkFixture, type SdkFixture } from '../unit/otlp/otlpFixtures.ts';
import { handDrivenTransport, range } from './support-pipeline/fixtures.ts';

let storage: Storage;
useTempStorage('pipeline-counters', (s) => (storage = s));

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const rs = await storage.client.query({ query: sql, format: 'JSONEachRow' });
  return rs.json<Record<string, unknown>>();
}

const RESOURCE = { 'service.name': 'ecampus', 'host.name': 'web-1' };
const ATTRS = { faculty: 'sciences', exam_id: 'SCI-101', 'http.response.status_code': 503 };

/**
 * Messages of one resource: submissions counter 5, 8, 12, then a restart (fresh SDK:
 * reset) 2, 7, 8; one latency observation per message; a non-monotonic gauge.
 */
async function counterMessages(): Promise<OutgoingMessage[]> {
  const out: OutgoingMessage[] = [];
  const plan: Array<Array<number>> = [
    [5, 3, 4],
    [2, 5, 1],
  ];
  for (const adds of plan) {
    const fx: SdkFixture = sdkFixture(RESOURCE);
    const submissions = fx.meter.createCounter('exam.submissions');
    const latency = fx.meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } });
    const active = fx.meter.createUpDownCounter('exam.active');
    for (const n of adds) {
      submissions.add(n, ATTRS);
      latency.record(0.5, ATTRS);
      active.add(10, ATTRS);
      // Distinct timestamps (ms) per collection.
      await new Promise((r) => setTimeout(r, 5));
      out.push({ key: 'ecampus/web-1', value: (await fx.collect()).bytes });
    }
    await fx.shutdown();
  }
  return out;
}

describe('counter increases at ingest (chDB)', () => {
  it('resets, redeliveries, a restarted pipeline and a crash repair give Prometheus increases, counted once', async () => {
    const database = 'c1';
    await migrate(storage.client, { database });
    const messages = await counterMessages();
    const metric = 'exam_submissions_total';
    const deltas = async (m: string) =>
      (await rows(`SELECT delta FROM ${database}.${TABLES.samples} WHERE metric = '${m}' ORDER BY timestamp`)).map((r) => Number(r['delta']));
    const rollup = async (m: string) =>
      Number((await rows(`SELECT sum(delta) AS d FROM ${database}.${TABLES.counters1m} WHERE metric = '${m}'`))[0]!['d']);

    const t = handDrivenTransport();
    const opts = { transport: t.transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, log: () => undefined };
    let pipeline = createPipeline(opts);
    await pipeline.start();
    await t.deliver(range(messages, 0, 2));
    expect(await deltas(metric)).toEqual([0, 3, 4]);
    // Redelivery overlapping the stored range, with other boundaries: 3–4 are new.
    await t.deliver(range(messages, 1, 4));
    await t.deliver(range(messages, 0, 4));
    // Reset at message 3 (fresh SDK): the increase is the new value.
    expect(await deltas(metric)).toEqual([0, 3, 4, 2, 5]);
    expect(await rollup(metric)).toBe(14);
    // Histogram parts are counters too: one observation per message after the first, the reset counted.
    expect(await deltas('http_server_request_duration_count')).toEqual([0, 1, 1, 1, 1]);
    const buckets = await rows(
      `SELECT le, status_code, exam_id, sum(delta) AS d FROM ${database}.${TABLES.counters1m}
       WHERE metric = 'http_server_request_duration_bucket' GROUP BY le, status_code, exam_id ORDER BY le`,
    );
    expect(buckets.map((r) => [r['le'], r['status_code'], r['exam_id'], Number(r['d'])])).toEqual([
      ['+Inf', '503', 'SCI-101', 4],
      ['1', '503', 'SCI-101', 4],
    ]);
    // Gauges (a non-monotonic sum) carry no increase and stay out of counters_1m.
    expect(new Set(await deltas('exam_active'))).toEqual(new Set([0]));
    expect(await rollup('exam_active')).toBe(0);
    await pipeline.stop();

    // Restart: nothing in memory; the first new point reads the last stored one (7) once.
    pipeline = createPipeline(opts);
    await pipeline.start();
    await t.deliver(range(messages, 3, 5));
    expect(await deltas(metric)).toEqual([0, 3, 4, 2, 5, 1]);
    expect(await rollup(metric)).toBe(15);
    await pipeline.stop();
  });

  it('a crash repair stores the increases of the interrupted insert, once', async () => {
    const database = 'c2';
    await migrate(storage.client, { database });
    const messages = await counterMessages();
    const t = handDrivenTransport();
    const opts = { transport: t.transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, log: () => undefined };
    const pipeline = createPipeline(opts);
    await pipeline.start();
    await t.deliver(range(messages, 0, 1));
    // Offsets 2–3 reach samples_ingest but not samples (the view is detached).
    await storage.client.command({ query: `DETACH TABLE ${database}.${TABLES.samplesIngestMv}` });
    await t.deliver(range(messages, 2, 3));
    await storage.client.command({ query: `ATTACH TABLE ${database}.${TABLES.samplesIngestMv}` });
    // Redelivery from 2: the repair of 2–3 reads the points before its range from ClickHouse (8).
    await t.deliver(range(messages, 2, 5));
    await t.deliver(range(messages, 0, 5));
    const d = (await rows(`SELECT delta FROM ${database}.${TABLES.samples} WHERE metric = 'exam_submissions_total' ORDER BY timestamp`)).map((r) => Number(r['delta']));
    expect(d).toEqual([0, 3, 4, 2, 5, 1]);
    expect(Number((await rows(`SELECT sum(delta) AS d FROM ${database}.${TABLES.counters1m} WHERE metric = 'exam_submissions_total'`))[0]!['d'])).toBe(15);
    await pipeline.stop();
  });
});
