/**
 * The stream tap a rules-only evaluator reads: the pipeline's decode, validation and
 * `metrics:` mapping without storage. Bad messages are counted by reason and committed
 * (never redelivered forever, never dead-lettered: the storage group owns the DLQ); a
 * throwing listener does not stop the stream; a stopping tap leaves its batch uncommitted.
 */
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../core/samples.ts';
import { parseMetricMapping } from '../../../pipeline/mapping.ts';
import { createStreamTap } from '../../../pipeline/streamTap.ts';
import { encodeRequestObject } from '../../../otlp/request.ts';
import type { IncomingBatch, Transport } from '../../../transport/types.ts';

const NOW = Date.UTC(2026, 11, 7, 9, 0);

function request(metric: string, points: { ts: number; value: number; host?: string }[]): Uint8Array {
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  return encodeRequestObject({
    resourceMetrics: [
      {
        resource: { attributes: [str('service.name', 'moodle'), str('host.name', 'web-1')] },
        scopeMetrics: [{ scope: { name: 't' }, metrics: [{ name: metric, gauge: { dataPoints: points.map((p) => ({ attributes: [str('faculty', 'law')], timeUnixNano: String(BigInt(p.ts) * 1_000_000n), asDouble: p.value })) } }] }],
      },
    ],
  });
}

/** A transport whose one consumer the test drives by hand; records the group it was asked for. */
function handDriven() {
  let handler: ((b: IncomingBatch) => Promise<void>) | undefined;
  const groups: string[] = [];
  const transport: Transport = {
    kind: 'inprocess',
    ensureTopics: async () => undefined,
    producer: () => {
      throw new Error('the tap must not produce (no DLQ of its own)');
    },
    consumer: (g) => {
      groups.push(g);
      return { connect: async () => undefined, disconnect: async () => undefined, lag: async () => 3, run: async (_t, h) => void (handler = h) };
    },
  };
  return { transport, groups, deliver: (b: IncomingBatch) => handler!(b) };
}

const batch = (values: Uint8Array[]): IncomingBatch => ({
  topic: 'otlp_metrics',
  partition: 2,
  messages: values.map((value, i) => ({ key: 'k', value, headers: {}, offset: String(100 + i), timestampMs: NOW })),
});

describe('stream tap (rules-only evaluator input)', () => {
  it('hands the mapped, validated samples of a batch to the listeners, counting every refused message and point by reason', async () => {
    const t = handDriven();
    const tap = createStreamTap({
      transport: t.transport,
      clock: () => NOW,
      groupId: 'vigie-rules-a',
      maxMessageBytes: 2_000,
      mapping: parseMetricMapping({ rename: { moodle_users_online: 'ecampus_sessions_active' } }),
      log: () => undefined,
    });
    const got: Sample[] = [];
    tap.onSamples((s) => got.push(...s));
    tap.onSamples(() => {
      throw new Error('a broken listener');
    });
    await tap.start();
    expect(t.groups).toEqual(['vigie-rules-a']);
    await t.deliver(
      batch([
        request('moodle.users.online', [{ ts: NOW - 15_000, value: 812 }, { ts: NOW, value: 820 }]),
        new Uint8Array([0xff, 0xff, 0xff]), // not OTLP
        new Uint8Array(0), // empty
        new Uint8Array(5_000), // over maxMessageBytes
        request('moodle.users.online', [{ ts: NOW - 30 * 86_400_000, value: 1 }]), // older than the 7 d default
      ]),
    );
    expect(got.map((s) => [s.metric, s.labels['faculty'], s.timestampMs, s.value])).toEqual([
      ['ecampus_sessions_active', 'law', NOW - 15_000, 812],
      ['ecampus_sessions_active', 'law', NOW, 820],
    ]);
    const st = tap.stats();
    expect(st).toMatchObject({ messages: 5, samplesTapped: 2, samplesStored: 0, dlq: 0, emptyMessages: 1, batches: 1 });
    expect(Object.keys(st.rejected).sort()).toEqual(['clock_skew', 'malformed_otlp', 'oversized'].sort());
    expect(st.rejected['clock_skew']).toBe(1);
    expect(await tap.lag()).toBe(3);
    await tap.stop();
    // Stopped: a batch handed now is refused, so it stays uncommitted for the next run.
    await expect(t.deliver(batch([request('moodle.users.online', [{ ts: NOW, value: 1 }])]))).rejects.toThrow(/stopping/);
  });
});
