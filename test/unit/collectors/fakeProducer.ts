/** Test helper: an in-memory TransportProducer that records what it was asked to send. */
import type { OutgoingMessage, TransportProducer } from '../../../transport/types.ts';

/** A recording producer; `failNext` makes the next sends reject. */
export interface FakeProducer extends TransportProducer {
  readonly sent: { topic: string; message: OutgoingMessage }[];
  failNext: number;
}

/** Creates a recording producer. */
export function fakeProducer(): FakeProducer {
  const p: FakeProducer = {
    sent: [],
    failNext: 0,
    connect: async () => {},
    disconnect: async () => {},
    send: async (topic, messages) => {
      if (p.failNext > 0) {
        p.failNext--;
        throw new Error('broker unreachable (fake)');
      }
      for (const message of messages) p.sent.push({ topic, message });
    },
  };
  return p;
}
