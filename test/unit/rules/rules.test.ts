import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadRuleFile, parseRuleFile, requiredRetentionByMetric, requiredRetentionMs, RuleFileError } from '../../../rules/ruleFile.ts';
import { createSeriesStore } from '../../../rules/windows.ts';
import { compileTemplate, humanize, humanizeDuration } from '../../../rules/template.ts';
import { seriesValue } from '../../../rules/engine.ts';
import { parseDuration } from '../../../rules/duration.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));

describe('rule files', () => {
  it('loads the default pack: every expr parses', async () => {
    const groups = await loadRuleFile(DEFAULT);
    const alerts = groups.flatMap((g) => g.rules).filter((r) => r.kind === 'alert');
    expect(alerts.map((r) => r.name)).toContain('FacultySessionsSaturationForecast');
    expect(alerts.map((r) => r.name)).toContain('FacultyLatencyHigh');
    expect(alerts.every((r) => r.labels['severity'])).toBe(true);
    // The 6 h SLO window reads a recorded per-faculty series; raw series need minutes.
    expect(requiredRetentionMs(groups)).toBe(6 * 3_600_000);
    const per = requiredRetentionByMetric(groups);
    expect(per.get('faculty:http_requests_errors:rate5m')).toBe(6 * 3_600_000);
    expect(per.get('http_server_request_duration_bucket')).toBe(300_000);
    expect(per.get('faculty:ecampus_sessions_active:sum')).toBe(600_000);
    expect(per.has('*')).toBe(false);
  });

  it('trims each metric to its own retention', () => {
    const store = createSeriesStore({ retentionMs: 60_000, retentionByMetricMs: new Map([['slow', 3_600_000]]) });
    const T = Date.UTC(2026, 0, 12, 9);
    for (let i = 0; i <= 120; i++) {
      store.add([
        { metric: 'slow', labels: {}, timestampMs: T + i * 15_000, value: i },
        { metric: 'fast', labels: {}, timestampMs: T + i * 15_000, value: i },
      ]);
    }
    store.trim();
    const count = (m: string) => store.select(m, []).reduce((n, s) => n + s.ts.length - s.head, 0);
    expect(count('slow')).toBe(121);
    expect(count('fast')).toBe(5);
    expect(requiredRetentionByMetric(parseRuleFile('groups: [{name: g, rules: [{record: r, expr: "count_over_time({job=\\"x\\"}[1h]) + y"}]}]')).get('y')).toBe(3_600_000);
  });

  it('parses durations, labels and templates', () => {
    const [g] = parseRuleFile(
      `groups:
  - name: g
    interval: 30s
    rules:
      - alert: A
        expr: up == 0
        for: 1h30m
        keep_firing_for: 5m
        labels: { severity: page }
        annotations: { summary: "{{ $labels.job }} down" }
`,
      'x.yml',
    );
    expect(g!.intervalMs).toBe(30_000);
    const r = g!.rules[0]!;
    expect(r.kind === 'alert' && [r.forMs, r.keepFiringForMs]).toEqual([5_400_000, 300_000]);
  });

  it('names file, group, rule and reason in errors', () => {
    const bad = (yaml: string) => {
      try {
        parseRuleFile(yaml, 'bad.yml');
      } catch (e) {
        expect(e).toBeInstanceOf(RuleFileError);
        return (e as Error).message;
      }
      throw new Error('expected failure');
    };
    expect(bad('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m)\n')).toMatch(/^bad\.yml: group "g", rule "A" \(#1\): PromQL parse error at position/);
    expect(bad('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        for: 5 minutes\n')).toMatch(/rule "A".*for: invalid duration/);
    expect(bad('groups:\n  - name: g\n    rules:\n      - expr: x\n')).toMatch(/exactly one of "alert" or "record"/);
    expect(bad('groups:\n  - name: g\n    rules:\n      - record: "bad name"\n        expr: x\n')).toMatch(/invalid recorded metric name/);
    expect(bad('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        annotations: { s: "{{ $foo }}" }\n')).toMatch(/annotation "s": unsupported template argument "\$foo"/);
    expect(bad('groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n')).toMatch(/duplicate group name/);
    expect(bad('nope: 1')).toMatch(/^bad\.yml: .*groups/);
  });
});

describe('series store', () => {
  it('keys a label object shared by two metrics and by two stores apart (key cache per label object)', () => {
    const labels = { faculty: 'law', server: 'a' };
    const a = createSeriesStore();
    const b = createSeriesStore();
    const batch = [
      { metric: 'm1', labels, timestampMs: 1_000, value: 1 },
      { metric: 'm2', labels, timestampMs: 1_000, value: 2 },
      { metric: 'm1', labels: { server: 'a', faculty: 'law' }, timestampMs: 2_000, value: 3 },
    ];
    a.add(batch);
    b.add(batch);
    for (const st of [a, b]) {
      expect(st.select('m1', []).map((s) => [s.key, s.vs.slice(s.head)])).toEqual([['m1{faculty="law",server="a"}', [1, 3]]]);
      expect(st.select('m2', []).map((s) => [s.key, s.vs.slice(s.head)])).toEqual([['m2{faculty="law",server="a"}', [2]]]);
    }
  });
});

describe('templates and durations', () => {
  it('renders $labels, $value, printf and humanize pipes', () => {
    const t = compileTemplate('{{ $labels.faculty }} in ~{{ printf "%.0f" $value }} min ({{ $value | humanize }}, {{ .Value | printf "%.1f" }}) {{$value}}');
    expect(t({ labels: { faculty: 'med' }, value: 7.6 })).toBe('med in ~8 min (7.6, 7.6) 7.6');
    expect(humanize(1234567)).toBe('1.235M');
    expect(humanize(0.0123)).toBe('12.3m');
    expect(humanizeDuration(3725)).toBe('1h 2m 5s');
    expect(humanizeDuration(2.5)).toBe('2.5s');
    expect(compileTemplate('{{ $value | humanizePercentage }}')({ labels: {}, value: 0.953 })).toBe('95.3%');
  });
  it('renders a series the alert agrees with (`series`), NaN when there is none', () => {
    const t = compileTemplate('{{ series "x:util" | humanizePercentage }} of the limit, {{ series "x:missing" | printf "%.0f" }}');
    const lookup = (m: string) => (m === 'x:util' ? 0.8125 : undefined);
    expect(t({ labels: {}, value: 1, series: lookup })).toBe('81.25% of the limit, NaN');
  });
  it('seriesValue picks the series that agrees with the alert labels, within the lookback, not stale', () => {
    const store = createSeriesStore({ retentionMs: 60 * 60_000 });
    store.add([
      { metric: 'f:u', labels: { faculty: 'law' }, timestampMs: 1_000, value: 0.5 },
      { metric: 'f:u', labels: { faculty: 'med' }, timestampMs: 1_000, value: 0.9 },
      { metric: 'f:u', labels: { faculty: 'med' }, timestampMs: 61_000, value: 0.95 },
    ]);
    const labels = { alertname: 'A', faculty: 'med', severity: 'page' };
    expect(seriesValue(store, 'f:u', labels, 70_000, 300_000)).toBe(0.95);
    expect(seriesValue(store, 'f:u', labels, 30_000, 300_000)).toBe(0.9);
    expect(seriesValue(store, 'f:u', { faculty: 'law' }, 400_000, 300_000)).toBeUndefined();
    expect(seriesValue(store, 'f:none', labels, 70_000, 300_000)).toBeUndefined();
    store.markStale([{ metric: 'f:u', labels: { faculty: 'med' } }], 80_000);
    expect(seriesValue(store, 'f:u', labels, 90_000, 300_000)).toBeUndefined();
  });
  it('parses Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('30m1h')).toThrow(/invalid duration/);
  });
});
