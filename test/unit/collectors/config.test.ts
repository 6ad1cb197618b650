import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseCollectorsConfig, routeTable } from '../../../collectors/config.ts';
import { parseConfig } from '../../../core/config.ts';

describe('collectors: config section', () => {
  it('the shipped example validates, and its route table compiles', () => {
    const file = fileURLToPath(new URL('../../../deploy/vigie.example.yml', import.meta.url));
    const all = parseConfig(parse(readFileSync(file, 'utf8')), file);
    const cfg = parseCollectorsConfig(all.collectors, file);
    expect(cfg.accessLogs?.files[0]?.format).toBe('nginx_timed_cookie');
    const t = routeTable(cfg);
    expect(t.rules[1]!.pattern.exec('/mod/quiz/attempt.php?attempt=3&cmid=77')?.groups?.['exam']).toBe('77');
  });

  it('names unknown keys and bad patterns', () => {
    expect(() => parseCollectorsConfig({ accessLog: {} })).toThrow(/collectors: Unrecognized key\(s\) in object: 'accessLog'/);
    expect(() => parseCollectorsConfig({ accessLogs: { files: [{ path: 'x', formatt: 'combined' }] } })).toThrow(/collectors\.accessLogs\.files\.0/);
    expect(() => parseCollectorsConfig({ accessLogs: { files: [{ path: 'x' }], routes: [{ pattern: '(', route: 'r' }] } })).toThrow(
      /collectors\.accessLogs\.routes\.0\.pattern "\(" is not a valid regular expression/,
    );
    expect(() => parseCollectorsConfig({ phpFpm: [{ url: 'not a url' }] })).toThrow(/collectors\.phpFpm\.0\.url/);
  });
});
