import kafkajs from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaHealth, KafkaTransport, toIncomingMessage } from '../../../transport/index.ts';

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

  it('turns a broker outage into one lost line and one reconnected line, muting the client chatter', () => {
    const lines: string[] = [];
    let now = 1_000;
    const health = new KafkaHealth({ brokers: ['127.0.0.1:1'], log: (l) => lines.push(l), now: () => now });
    const log = health.logCreator()(kafkajs.logLevel.WARN);
    const entry = (message: string, extra: Record<string, unknown> = {}) => ({
      namespace: 'Connection',
      level: kafkajs.logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 'now', logger: 'kafkajs', message, ...extra },
    });
    health.ok();
    log(entry('Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' }));
    expect(lines).toEqual([]);
    for (let i = 0; i < 126; i++) log(entry('Connection error', { error: 'connect ECONNREFUSED 127.0.0.1:1', stack: 'Error\n  at x' }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vigie transport\.kafka\.broker_lost brokers=127\.0\.0\.1:1: Connection error: connect ECONNREFUSED/);
    expect(health.lost).toBe(true);
    now += 12_300;
    health.ok();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('vigie transport.kafka.reconnected brokers=127.0.0.1:1: back after 12.3 s (125 client messages muted meanwhile)');
    health.ok();
    expect(lines).toHaveLength(2);
  });

  it('says other client messages once a minute each, with a repeat count', () => {
    const lines: string[] = [];
    let now = 0;
    const health = new KafkaHealth({ brokers: ['b:1'], log: (l) => lines.push(l), now: () => now });
    for (let i = 0; i < 5; i++) health.onClientLog('ERROR', 'Consumer', 'Unknown member id', '');
    expect(lines).toEqual(['vigie transport.kafka.client ERROR [Consumer] Unknown member id']);
    now += 61_000;
    health.onClientLog('ERROR', 'Consumer', 'Unknown member id', '');
    expect(lines[1]).toBe('vigie transport.kafka.client ERROR [Consumer] Unknown member id (4 more like it in the last 60 s)');
  });

  it('refuses an empty broker list with a clear message', () => {
    expect(() => new KafkaTransport({ brokers: [] })).toThrow(/at least one broker/);
  });
});
