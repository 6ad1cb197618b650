/**
 * The notices' state file: the one place the publisher (inside the rules stage), the
 * status page server and the operator CLI read and write, so an operator's hold or edit
 * from another process takes effect on the next page view and the next update. Writes
 * are atomic (temp file + rename); a missing file is an empty state.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import type { StatusNotice } from './notice.ts';

/** Everything the status side remembers. */
export interface StatusState {
  /** `auto` publishes new notices at once; `hold` keeps them held until an operator publishes. */
  readonly mode: 'auto' | 'hold';
  readonly notices: readonly StatusNotice[];
}

/** Reads the state file (empty state when absent); a corrupt file is an error naming it. */
export function readStatusState(path: string): StatusState {
  if (!existsSync(path)) return { mode: 'auto', notices: [] };
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as StatusState;
    if (!Array.isArray(s.notices) || (s.mode !== 'auto' && s.mode !== 'hold')) throw new Error('expected {mode: auto|hold, notices: [...]}');
    return s;
  } catch (err) {
    throw new ConfigError(`status state file ${path} is not readable: ${(err as Error).message}`);
  }
}

/** Writes the state file atomically. */
export function writeStatusState(path: string, s: StatusState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, path);
}
