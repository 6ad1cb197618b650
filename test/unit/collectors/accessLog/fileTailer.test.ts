import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTailer } from '../../../../collectors/accessLog/fileTailer.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-tail-'));
  dirs.push(dir);
  const path = join(dir, 'access.log');
  let next = 0;
  const write = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += `line ${String(next++).padStart(6, '0')} some padding to make the head long enough ${'x'.repeat(40)}\n`;
    appendFileSync(path, s);
  };
  return { dir, path, write, written: () => next };
}
const collect = (t: FileTailer, into: string[]) => t.poll((l) => into.push(l));
const ids = (lines: string[]) => lines.map((l) => Number(l.slice(5, 11)));
const seq = (n: number) => [...Array(n).keys()];

describe('FileTailer', () => {
  it('reads only complete lines, once', () => {
    const { path, write } = setup();
    write(3);
    appendFileSync(path, 'line 000003 partial');
    const t = new FileTailer(path);
    const got: string[] = [];
    collect(t, got);
    expect(ids(got)).toEqual([0, 1, 2]);
    appendFileSync(path, ' end\n');
    collect(t, got);
    expect(got[3]).toBe('line 000003 partial end');
    collect(t, got);
    expect(got).toHaveLength(4);
    t.close();
  });

  it('follows a rename rotation: the old file to its end, then the new file from 0', () => {
    const { path, write, written } = setup();
    write(5);
    const t = new FileTailer(path);
    const got: string[] = [];
    collect(t, got);
    write(3); // written after our last read, before the rotation
    renameSync(path, `${path}.1`);
    write(4); // new file
    collect(t, got);
    expect(ids(got)).toEqual(seq(written()));
    t.close();
  });

  it('follows copytruncate, reading what the copy holds past our offset', () => {
    const { path, write, written } = setup();
    write(5);
    const t = new FileTailer(path);
    const got: string[] = [];
    collect(t, got);
    write(3);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    write(2);
    collect(t, got);
    expect(ids(got)).toEqual(seq(written()));
    t.close();
  });

  it('resumes from a saved position, also when the file was rotated or truncated while it was down', () => {
    const { path, write, written } = setup();
    write(5);
    const got: string[] = [];
    let t = new FileTailer(path);
    collect(t, got);
    let pos = t.position();
    t.close();
    write(2);
    t = new FileTailer(path, { position: pos });
    collect(t, got);
    expect(ids(got)).toEqual(seq(7));
    pos = t.position();
    t.close();
    // Down during a rename rotation.
    write(2);
    renameSync(path, `${path}.1`);
    write(3);
    t = new FileTailer(path, { position: pos });
    collect(t, got);
    expect(ids(got)).toEqual(seq(12));
    pos = t.position();
    t.close();
    // Down during a copytruncate.
    write(2);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    write(1);
    const events: string[] = [];
    t = new FileTailer(path, { position: pos, onEvent: (k) => events.push(k) });
    collect(t, got);
    expect(ids(got)).toEqual(seq(written()));
    expect(events).toContain('recovered');
    t.close();
  });

  it('reports a gap when no rotated copy holds the missing lines', () => {
    const { path, write } = setup();
    write(5);
    const t = new FileTailer(path, { onEvent: (k, d) => events.push(`${k}: ${d}`) });
    const events: string[] = [];
    collect(t, []);
    write(1);
    writeFileSync(path, ''); // truncated, no copy
    collect(t, []);
    expect(events.some((e) => e.startsWith('gap'))).toBe(true);
    t.close();
  });
});

describe('FileTailer, several rotations while down', () => {
  it('reads the old file by inode, then the newer rotated files, then the current one', () => {
    const { path, write, written } = setup();
    write(5);
    const got: string[] = [];
    let t = new FileTailer(path, { rotatedPaths: [`${path}.1`, `${path}.2`] });
    collect(t, got);
    const pos = t.position();
    t.close();
    write(2);
    renameSync(path, `${path}.1`); // rotation 1: rename
    write(3);
    renameSync(`${path}.1`, `${path}.2`); // rotation 2: copytruncate
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    write(4);
    t = new FileTailer(path, { position: pos, rotatedPaths: [`${path}.1`, `${path}.2`] });
    collect(t, got);
    expect(ids(got)).toEqual(seq(written()));
    t.close();
  });
});
