/**
 * Helpers for the collectors' integration tests: run the `vigie` bin as a child process
 * (output kept for failure messages), read a topic's OTLP messages back as samples, and
 * wait for a condition with a deadline.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../../../core/samples.ts';
import { decodeMetricsRequest, toSamples } from '../../../otlp/decode.ts';
import { KafkaTransport } from '../../../transport/kafka.ts';
import type { TransportConsumer } from '../../../transport/index.ts';
import { kafkaBrokers, uniqueTopic } from './kafka.ts';
import { startVigie } from './vigieProcess.ts';

/** The package's bin. */
export const VIGIE_BIN = fileURLToPath(new URL('../../../bin/vigie.mjs', import.meta.url));

/** A running `vigie` child. */
export interface VigieChild {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
}

/** Spawns `node bin/vigie.mjs …args` ({@link startVigie}); `exited` gives the exit code, or the signal's name. */
export function spawnVigie(args: readonly string[], env: Record<string, string> = {}): VigieChild {
  const p = startVigie('vigie', args, { env });
  const exited = new Promise<number | string>((resolve) => p.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child: p.child, output: p.output, exited };
}

/** Polls `cond` every 100 ms until true or the deadline; the error says what was awaited. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One consumed message: its key and the samples it decodes to. */
export interface ConsumedMessage {
  readonly key: string | null;
  readonly samples: Sample[];
}

/** Consumes `topic` from the beginning in a fresh group; `messages` grows as they arrive. */
export async function consumeTopic(topic: string): Promise<{ messages: ConsumedMessage[]; stop(): Promise<void> }> {
  const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'vigie-test-collectors' });
  const c: TransportConsumer = transport.consumer(uniqueTopic('vigie.test.collectors.group'));
  await c.connect();
  const messages: ConsumedMessage[] = [];
  await c.run(topic, async (batch) => {
    for (const m of batch.messages) {
      const { samples } = toSamples(decodeMetricsRequest(m.value), { nowMs: Date.now(), maxAgeMs: 3650 * 86_400_000 });
      messages.push({ key: m.key, samples });
    }
  });
  return { messages, stop: () => c.disconnect() };
}

/** Sum of the samples named `metric` (matching `labels`) in one message. */
export function sumOf(m: ConsumedMessage, metric: string, labels: Readonly<Record<string, string>> = {}): number {
  let n = 0;
  for (const s of m.samples) if (s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) n += s.value;
  return n;
}
