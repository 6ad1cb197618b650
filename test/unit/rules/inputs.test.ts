import { describe, expect, it } from 'vitest';
import { checkRuleInputs, formatInputsReport } from '../../../rules/inputs.ts';
import { loadRuleFile, parseRuleFile } from '../../../rules/ruleFile.ts';

const pack = parseRuleFile(`groups:
  - name: g
    rules:
      - record: faculty:util
        expr: sum by (faculty) (sessions) / on (faculty) sum by (faculty) (capacity)
      - record: platform:util
        expr: sum(sessions) / sum(capacity) or sum(sessions) / sum(platform_capacity)
      - alert: FacultyFull
        expr: faculty:util > 0.95
      - alert: PlatformFull
        expr: platform:util > 0.95
      - alert: Errors
        expr: rate(requests{code=~"5.."}[5m]) > 1
      - alert: NoData
        expr: absent(sessions)
      - alert: Schedule
        expr: ecampus_expected_peak_sessions > 10
`);

describe('rule inputs against a store (rules check --against)', () => {
  it('lists missing selectors and the alerts they silence, following recording rules and or-fallbacks', () => {
    // A platform with one platform-wide capacity gauge and status classes, not codes.
    const r = checkRuleInputs(pack, [
      { metric: 'sessions', labels: { faculty: 'law' } },
      { metric: 'platform_capacity', labels: {} },
      { metric: 'requests', labels: { code: 'xx' } },
    ]);
    expect(r.missing.map((m) => m.selector)).toEqual(['capacity', 'requests{code=~"5.."}']);
    expect(r.silent.map((s) => `${s.kind} ${s.name}`)).toEqual(['record faculty:util', 'alert FacultyFull', 'alert Errors']);
    expect(r.silent.find((s) => s.name === 'FacultyFull')!.because).toEqual(['faculty:util (recorded; its inputs are missing)']);
    expect(r.fedByVigie.map((f) => f.metric)).toEqual(['ecampus_expected_peak_sessions']);
    const text = formatInputsReport('db', 3, 3, r);
    expect(text).toContain('requests{code=~"5.."}   read by Errors');
    expect(text).toContain('g/FacultyFull: needs faculty:util');
  });

  it('finds nothing missing when the store holds the whole contract the shipped pack reads', async () => {
    const groups = await loadRuleFile('rules/packs/default.yml');
    const f = { faculty: 'law', instance: 's1' };
    const r = checkRuleInputs(groups, [
      { metric: 'ecampus_sessions_active', labels: f },
      { metric: 'ecampus_capacity_sessions', labels: f },
      { metric: 'ecampus_workers_busy', labels: f },
      { metric: 'ecampus_workers_max', labels: f },
      { metric: 'db_client_connections_usage', labels: { db_client_connections_state: 'used', pool: 'p' } },
      { metric: 'db_client_connections_max', labels: { pool: 'p' } },
      { metric: 'http_server_request_duration_count', labels: { ...f, http_response_status_code: '503' } },
      { metric: 'http_server_request_duration_bucket', labels: { ...f, le: '+Inf' } },
      { metric: 'ecampus_logins_total', labels: { ...f, outcome: 'rejected' } },
      { metric: 'system_cpu_utilization', labels: f },
      // Requests in flight (the latency-knee warning, Little's law).
      { metric: 'http_server_active_requests', labels: f },
    ]);
    // The one selector nothing matches is the status-class alternative of an `or`: the rules still evaluate.
    expect(r.missing.map((m) => m.selector)).toEqual(['http_server_requests_total{status_class="5xx"}']);
    expect(r.silent).toEqual([]);
  });
});
