import kafkajs from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaTransport, oneLineLogCreator, toIncomingMessage } from '../../../transport/index.ts';

describe('KafkaTransport (no broker)', () => {
  it('turns kafkajs messages into transport messages: string key and headers, bytes value', () => {
    const m = {
      key: Buffer.from('svc/host-1'),
      value: Buffer.from([1, 2, 3]),
      headers: { 'vigie.reason': Buffer.from('decode'), multi: [Buffer.from('a'), 'b'], missing: undefined },
      offset: '41',
      timestamp: '1700000000000',
      attributes: 0,
      size: 0,
    } as unknown as KafkaMessage;
    const got = toIncomingMessage(m);
    expect(got.key).toBe('svc/host-1');
    expect([...got.value]).toEqual([1, 2, 3]);
    expect(got.headers).toEqual({ 'vigie.reason': 'decode', multi: 'b' });
    expect(got.offset).toBe('41');
    expect(got.timestampMs).toBe(1_700_000_000_000);
    const tombstone = toIncomingMessage({ ...m, key: null, value: null, headers: undefined } as unknown as KafkaMessage);
    expect(tombstone.key).toBeNull();
    expect(tombstone.value.length).toBe(0);
    expect(tombstone.headers).toEqual({});
  });

  it('logs one line per kafkajs entry and drops the coordinator-not-ready noise', () => {
    const lines: string[] = [];
    const log = oneLineLogCreator((l) => lines.push(l))(kafkajs.logLevel.WARN);
    const entry = (message: string, extra: Record<string, unknown> = {}) => ({
      namespace: 'Connection',
      level: kafkajs.logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 'now', logger: 'kafkajs', message, ...extra },
    });
    log(entry('Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' }));
    log(entry('Connection error', { error: 'ECONNREFUSED', stack: 'Error\n  at x' }));
    expect(lines).toEqual(['kafkajs ERROR [Connection] Connection error {"error":"ECONNREFUSED"}\n']);
  });

  it('refuses an empty broker list with a clear message', () => {
    expect(() => new KafkaTransport({ brokers: [] })).toThrow(/at least one broker/);
  });
});
