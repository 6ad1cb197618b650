/** The endpoint file tells readers which live process holds a data directory; a dead holder's file is stale. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENDPOINT_FILE, liveEndpoint, readEndpointFile, removeEndpointFile, writeEndpointFile } from '../../../pipeline/endpointFile.ts';
import { unescapeParam } from '../../../pipeline/readEndpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-endpoint-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const info = (pid: number) => ({ url: 'http://127.0.0.1:24999', pid, command: 'ingest', database: 'vigie', startedAt: '2026-12-07T00:00:00Z' });

describe('endpoint file', () => {
  it('is read back as written, and removed only by its writer', () => {
    writeEndpointFile(dir, { url: 'http://127.0.0.1:24999', command: 'demo', database: 'vigie' });
    expect(readEndpointFile(dir)).toMatchObject({ url: 'http://127.0.0.1:24999', pid: process.pid, command: 'demo' });
    // This process never reads through its own endpoint.
    expect(liveEndpoint(dir)).toBeNull();
    removeEndpointFile(dir);
    expect(readEndpointFile(dir)).toBeNull();
  });

  it('names a live holder, and treats a dead holder as stale', () => {
    const parent = process.ppid;
    writeFileSync(join(dir, ENDPOINT_FILE), JSON.stringify(info(parent)));
    expect(liveEndpoint(dir)?.pid).toBe(parent);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, ENDPOINT_FILE), JSON.stringify(info(dead)));
    expect(liveEndpoint(dir)).toBeNull();
    // Someone else's file is left alone.
    removeEndpointFile(dir);
    expect(readEndpointFile(dir)?.pid).toBe(dead);
  });

  it('ignores a file that is not an endpoint file', () => {
    writeFileSync(join(dir, ENDPOINT_FILE), '{"url": 3}');
    expect(readEndpointFile(dir)).toBeNull();
  });
});

describe('param_* values', () => {
  it('are unescaped as ClickHouse reads them (TSV escapes)', () => {
    expect(unescapeParam("it\\'s")).toBe("it's");
    expect(unescapeParam('a\\tb\\nc\\\\d')).toBe('a\tb\nc\\d');
    expect(unescapeParam('plain')).toBe('plain');
  });
});
