/**
 * Shared option parsers for the CLI: every flag is validated when parsed, and the
 * error names the flag and the value that was refused.
 */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';

/** The built-in rule pack. */
export const DEFAULT_RULES_FILE = fileURLToPath(new URL('../rules/packs/default.yml', import.meta.url));

/** Parses a finite number option. */
export function floatOption(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects a number, got "${v}"`);
    return n;
  };
}

/** Parses a time option: ISO-8601 or epoch milliseconds. */
export function timeOption(flag: string): (v: string) => number {
  return (v) => {
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects an ISO time (e.g. 2026-01-12T09:00:00Z) or epoch ms, got "${v}"`);
    return n;
  };
}

/** Parses HOST:PORT. */
export function kafkaOption(v: string): string {
  if (!/^[A-Za-z0-9_.-]+:\d{1,5}$/.test(v)) throw new InvalidArgumentError(`--kafka expects HOST:PORT (e.g. 127.0.0.1:19092), got "${v}"`);
  return v;
}
