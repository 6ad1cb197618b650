/** Saved-query headers and parameter binding, without a database. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bindParams, formatResult, listSavedQueries, loadSavedQuery, parseSavedQuery } from '../../../postmortem/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-sq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('saved queries', () => {
  it('every shipped query declares each placeholder it uses, with a supported type', () => {
    for (const q of listSavedQueries()) {
      expect(q.sql).toContain('{db:Identifier}');
      expect(q.sql).not.toMatch(/\$\{|\{\{/); // nothing for string splicing
      for (const p of q.params) expect(q.sql).toContain(`{${p.name}:${p.type}}`);
    }
  });

  it('parses params with defaults', () => {
    const q = parseSavedQuery('x', "-- description: d\n-- param: a String = ''\n-- param: n UInt64 = 10\n-- param: t DateTime64(3)\nSELECT {a:String}, {n:UInt64}, {t:DateTime64(3)}");
    expect(q.params).toEqual([
      { name: 'a', type: 'String', default: '' },
      { name: 'n', type: 'UInt64', default: '10' },
      { name: 't', type: 'DateTime64(3)' },
    ]);
    expect(bindParams(q, { t: '2026-01-12T09:00:00Z' })).toEqual({ a: '', n: '10', t: Date.UTC(2026, 0, 12, 9) });
  });

  it('refuses undeclared placeholders, mismatched types, unsupported types', () => {
    expect(() => parseSavedQuery('x', 'SELECT {a:String}')).toThrow(/no "-- param: a String"/);
    expect(() => parseSavedQuery('x', '-- param: a String\nSELECT {a:UInt8}')).toThrow(/does not match/);
    expect(() => parseSavedQuery('x', '-- param: a Array(String)\nSELECT 1')).toThrow(/unsupported type/);
  });

  it('only loads names of the directory, never paths', () => {
    writeFileSync(join(dir, 'ok.sql'), '-- param: a String\nSELECT {a:String}');
    expect(loadSavedQuery('ok', dir).name).toBe('ok');
    expect(() => loadSavedQuery('../ok', dir)).toThrow(/unknown query "..\/ok"; available: ok/);
  });

  it('formats CSV with quoting', () => {
    const csv = formatResult({ columns: [{ name: 'a', type: 'String' }], rows: [['x,"y"'], [null]] }, 'csv');
    expect(csv).toBe('a\n"x,""y"""\n\n');
  });
});
