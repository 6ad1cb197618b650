/** Kafka helpers for integration tests: where the broker is, and topic names no other test uses. */
import { randomBytes } from 'node:crypto';

/** Brokers of the test stack: `VIGIE_KAFKA_BROKERS` (comma-separated) or the stack's default port. */
export function kafkaBrokers(): string[] {
  const raw = process.env['VIGIE_KAFKA_BROKERS'] ?? `127.0.0.1:${process.env['VIGIE_KAFKA_PORT'] ?? '19092'}`;
  return raw.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
}

/** A topic (or group) name unique to this call, so tests never share Kafka state. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
}
