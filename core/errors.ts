/**
 * One root error class for Vigie. `retriable` tells the shared retry helper whether
 * trying again can help; `cause` keeps the underlying error. Messages are for people:
 * what failed, with which input, and what to do about it.
 */
import { redactText } from './redact.ts';

/** Root of all Vigie errors. */
export class VigieError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Invalid configuration or command-line input; never retriable. */
export class ConfigError extends VigieError {}

/** Input that cannot be decoded or fails validation (OTLP, rule files, HTTP bodies). */
export class DecodeError extends VigieError {
  /** Short machine-readable reason, used e.g. in the DLQ `vigie.reason` header. */
  readonly reason: string;
  constructor(reason: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: false, ...options });
    this.reason = reason;
  }
}

/** A downstream system (Kafka, ClickHouse, a receiver) failed; usually retriable. */
export class UnavailableError extends VigieError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { retriable: options.retriable ?? true, cause: options.cause });
  }
}

/** Renders an error with its cause chain on one line per cause, URL credentials and tokens redacted. */
export function describeError(err: unknown): string {
  return redactText(describeRaw(err));
}

function describeRaw(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(`${cur.name}: ${cur.message}`);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join('\n  caused by ');
}
