/**
 * Pipeline test fixtures: real OTLP messages made by the SDK, a transport whose handler
 * the test drives by hand (to deliver and redeliver exact offset ranges), and a poll helper.
 */
import { countExportedSamples } from '../../../otlp/encode.ts';
import { TOPICS, type IncomingBatch, type OutgoingMessage, type Transport } from '../../../transport/types.ts';
import { recordTypicalMetrics, sdkFixture } from '../../unit/otlp/otlpFixtures.ts';

/** `n` real OTLP requests (one resource each, `hosts` resources in turn) and the samples each decodes to. */
export async function otlpMessages(n: number, hosts = 4): Promise<{ messages: OutgoingMessage[]; samplesPerMessage: number[]; samples: number }> {
  const messages: OutgoingMessage[] = [];
  const samplesPerMessage: number[] = [];
  for (let i = 0; i < n; i++) {
    const fx = sdkFixture({ 'service.name': 'ecampus', 'host.name': `web-${i % hosts}` });
    recordTypicalMetrics(fx.meter, [`fac-${i % 11}`, 'droit'], 1 + (i % 5));
    const { resourceMetrics, bytes } = await fx.collect();
    samplesPerMessage.push(countExportedSamples(resourceMetrics));
    messages.push({ key: `ecampus/web-${i % hosts}`, value: bytes });
    await fx.shutdown();
  }
  return { messages, samplesPerMessage, samples: samplesPerMessage.reduce((a, b) => a + b, 0) };
}

/** A transport with one consumer whose handler the test calls itself; DLQ sends are kept. */
export function handDrivenTransport() {
  let handler: ((b: IncomingBatch) => Promise<void>) | undefined;
  const dlq: OutgoingMessage[] = [];
  const transport: Transport = {
    kind: 'inprocess',
    ensureTopics: async () => undefined,
    producer: () => ({ connect: async () => undefined, disconnect: async () => undefined, send: async (_t, ms) => void dlq.push(...ms) }),
    consumer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      lag: async () => 0,
      run: async (_t, h) => {
        handler = h;
      },
    }),
  };
  return { transport, dlq, deliver: (b: IncomingBatch) => handler!(b) };
}

/** `all[from..to]` (inclusive) as one batch of `partition`, message i at offset i. */
export function range(all: readonly OutgoingMessage[], from: number, to: number, partition = 0): IncomingBatch {
  const messages = [];
  for (let i = from; i <= to; i++) messages.push({ key: all[i]!.key, value: all[i]!.value, headers: {}, offset: String(i), timestampMs: Date.now() });
  return { topic: TOPICS.metrics, partition, messages };
}

/** Sum of `perMessage[from..to]`. */
export function sumRange(perMessage: readonly number[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i <= to; i++) n += perMessage[i]!;
  return n;
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
