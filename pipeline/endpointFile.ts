/**
 * The endpoint file: how other commands learn that a Vigie process holds an embedded
 * chDB directory and where it serves it. chDB lets one process open a directory; the
 * holder writes `vigie-endpoint.json` (its read endpoint's URL and its pid) into the
 * directory, and `vigie postmortem`, `vigie query` and `rules backtest` read through that
 * URL instead of failing on the directory lock. A file whose pid is dead is stale.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** File name inside the chDB data directory. */
export const ENDPOINT_FILE = 'vigie-endpoint.json';

const endpointInfoSchema = z.object({
  url: z.string().url(),
  pid: z.number().int().positive(),
  command: z.string(),
  database: z.string(),
  startedAt: z.string(),
});

/** What the holder of a data directory advertises. */
export type EndpointInfo = z.infer<typeof endpointInfoSchema>;

/** Writes the endpoint file of this process (atomically enough: one small write). */
export function writeEndpointFile(dir: string, info: Omit<EndpointInfo, 'pid' | 'startedAt'>): void {
  const full: EndpointInfo = { ...info, pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(join(dir, ENDPOINT_FILE), JSON.stringify(full, null, 2) + '\n');
}

/** Removes the endpoint file if this process wrote it. */
export function removeEndpointFile(dir: string): void {
  const info = readEndpointFile(dir);
  if (info?.pid === process.pid) rmSync(join(dir, ENDPOINT_FILE), { force: true });
}

/** The endpoint file's content, or null when absent or unreadable. */
export function readEndpointFile(dir: string): EndpointInfo | null {
  let raw: string;
  try {
    raw = readFileSync(join(dir, ENDPOINT_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const r = endpointInfoSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** True while a process with this pid exists (signal 0 checks without signalling). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The endpoint of a live holder of `dir`, or null (no file, or a stale one). */
export function liveEndpoint(dir: string): EndpointInfo | null {
  const info = readEndpointFile(dir);
  return info && info.pid !== process.pid && pidAlive(info.pid) ? info : null;
}
