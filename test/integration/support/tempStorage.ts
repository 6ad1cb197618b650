/**
 * An embedded chDB in a temp directory for one test file: opened before its tests,
 * closed and removed after them. chDB allows one engine per process and data directory,
 * so each file gets its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createStorage, type Storage } from '../../../pipeline/storage.ts';

/** Registers the file's `beforeAll`/`afterAll`; `set` receives the storage once it is open. */
export function useTempStorage(name: string, set: (storage: Storage) => void): void {
  const dir = mkdtempSync(join(tmpdir(), `vigie-${name}-`));
  let storage: Storage | undefined;
  beforeAll(() => {
    storage = createStorage({ chdbPath: dir });
    set(storage);
  });
  afterAll(async () => {
    await storage?.close();
    rmSync(dir, { recursive: true, force: true });
  });
}
