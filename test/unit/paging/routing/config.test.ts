import { describe, expect, it } from 'vitest';
import { parsePagingConfig } from '../../../../paging/routing/config.ts';
import { matchAll, parseMatcher } from '../../../../paging/routing/matchers.ts';

describe('matchers', () => {
  it('parses =, !=, =~ (anchored), !~ and quoted values', () => {
    const ms = ['faculty=law', 'severity!=info', 'exam=~"math-.*"', 'server!~s9'].map(parseMatcher);
    expect(matchAll(ms, { faculty: 'law', severity: 'page', exam: 'math-101', server: 's1' })).toBe(true);
    expect(matchAll(ms, { faculty: 'law', severity: 'page', exam: 'xmath-101', server: 's1' })).toBe(false);
    expect(matchAll([parseMatcher('faculty=')], {})).toBe(true);
    expect(() => parseMatcher('faculty')).toThrow(/expected name=value/);
    expect(() => parseMatcher('a=~(')).toThrow(/bad regular expression/);
  });
});

describe('paging config', () => {
  it('applies defaults and parses durations', () => {
    const c = parsePagingConfig({ receivers: [{ name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:9093' }] });
    expect(c.resolve_hold).toBe(300_000);
    expect(c.outbox.max_age).toBe(3_600_000);
    expect(c.silences_file).toBe('.vigie/silences.json');
    expect(c.receivers[0]).toMatchObject({ type: 'alertmanager', resend_interval: 60_000 });
  });

  it('names the offending key', () => {
    const bad = () =>
      parsePagingConfig({
        receivers: [
          { name: 'pd', type: 'pagerduty' },
          { name: 'chat', type: 'slack', url: 'not a url' },
        ],
        route: { receiver: 'pd', group_wait: 'soon', routes: [{ receiver: 'nobody', matchers: ['x~y'] }] },
        outbox: { fallback: 'mail' },
      });
    expect(bad).toThrow(/paging\.receivers\.0\.routing_key: set routing_key or routing_key_env/);
    expect(bad).toThrow(/paging\.receivers\.1\.url/);
    expect(bad).toThrow(/paging\.route\.group_wait: invalid duration "soon"/);
    expect(bad).toThrow(/paging\.route\.routes\.0\.matchers\.0: invalid matcher/);
    expect(bad).toThrow(/paging\.route\.routes\.0\.receiver: unknown receiver "nobody"/);
    expect(bad).toThrow(/paging\.outbox\.fallback: unknown receiver "mail"/);
  });

  it('rejects an unknown receiver type and unknown keys', () => {
    expect(() => parsePagingConfig({ receivers: [{ name: 'x', type: 'fax', url: 'http://x' }] })).toThrow(/paging\.receivers\.0\.type/);
    expect(() => parsePagingConfig({ resolve_hodl: '5m' })).toThrow(/resolve_hodl/);
  });
});
