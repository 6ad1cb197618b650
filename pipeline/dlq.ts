/**
 * The dead-letter envelope: what the pipeline writes to `<topic>.dlq` for a message it
 * cannot store. Bounded so that it always fits the DLQ topic (Kafka's default
 * `max.message.bytes` is 1 MB while the input topic may allow more): the original
 * headers (each value capped), the reason, a detail, the origin `topic/partition/offset`
 * and the original size; the payload itself is copied whole when it fits, else its first
 * bytes with `vigie.truncated: true` (the origin header points to the full message).
 */
import { HEADERS, type IncomingMessage, type OutgoingMessage } from '../transport/types.ts';

/** Why and from where, for {@link dlqEnvelope}. */
export interface DlqCause {
  readonly reason: string;
  readonly detail: string;
  /** `topic/partition/offset` of the original message. */
  readonly origin: string;
}

/** Longest copied header value and key, in UTF-16 units (one unit is at most 3 UTF-8 bytes). */
const MAX_HEADER_VALUE = 1024;
/** Most original headers copied (the rest are dropped, counted in `vigie.headers.dropped`). */
const MAX_HEADERS = 32;
/** Room kept for Kafka's record and batch framing. */
const FRAMING_BYTES = 512;

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function cap(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

/**
 * Builds the DLQ message of `m`, at most `maxBytes` (value + key + header names and
 * values + framing). Throws only for a `maxBytes` too small to hold the headers.
 */
export function dlqEnvelope(m: IncomingMessage, cause: DlqCause, maxBytes: number): OutgoingMessage {
  const headers: Record<string, string> = {};
  const own = new Set<string>(Object.values(HEADERS));
  let copied = 0;
  let dropped = 0;
  for (const [k, v] of Object.entries(m.headers)) {
    if (own.has(k)) continue;
    if (copied >= MAX_HEADERS) {
      dropped++;
      continue;
    }
    headers[cap(k, 256)] = cap(v, MAX_HEADER_VALUE);
    copied++;
  }
  if (dropped > 0) headers['vigie.headers.dropped'] = String(dropped);
  headers[HEADERS.reason] = cap(cause.reason, 64);
  headers[HEADERS.detail] = cap(cause.detail, 1000);
  headers[HEADERS.origin] = cap(cause.origin, 512);
  headers[HEADERS.originalBytes] = String(m.value.byteLength);
  const key = cap(m.key ?? '', MAX_HEADER_VALUE);
  let fixed = FRAMING_BYTES + utf8Bytes(key) + utf8Bytes(HEADERS.truncated) + utf8Bytes('true') + 8;
  for (const [k, v] of Object.entries(headers)) fixed += utf8Bytes(k) + utf8Bytes(v) + 8;
  const room = maxBytes - fixed;
  if (room < 0) throw new RangeError(`DLQ message limit of ${maxBytes} bytes cannot hold the envelope's ${fixed} bytes of headers`);
  if (m.value.byteLength <= room) return { key, value: m.value, headers };
  headers[HEADERS.truncated] = 'true';
  return { key, value: m.value.subarray(0, room), headers };
}

/** Bytes a DLQ message occupies by {@link dlqEnvelope}'s accounting (for tests and the limit check). */
export function envelopeBytes(msg: OutgoingMessage): number {
  let n = FRAMING_BYTES + utf8Bytes(msg.key) + msg.value.byteLength;
  for (const [k, v] of Object.entries(msg.headers ?? {})) n += utf8Bytes(k) + utf8Bytes(v) + 8;
  return n;
}
