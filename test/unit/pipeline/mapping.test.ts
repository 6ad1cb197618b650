import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../core/samples.ts';
import { parseMetricMapping } from '../../../pipeline/mapping.ts';

const s = (metric: string, labels: Record<string, string>, value = 1): Sample => ({ metric, labels, timestampMs: 1_000, value });

describe('metric mapping (metrics: section)', () => {
  it('is null when it says nothing, so the pipeline skips it', () => {
    expect(parseMetricMapping(undefined)).toBeNull();
    expect(parseMetricMapping({ rename: {}, relabel: [] })).toBeNull();
  });

  it('renames a platform metric into the contract and keeps values and times', () => {
    const map = parseMetricMapping({ rename: { moodle_users_online: 'ecampus_sessions_active' } })!;
    expect(map([s('moodle_users_online', { faculty: 'law' }, 42), s('other', {})])).toEqual([s('ecampus_sessions_active', { faculty: 'law' }, 42), s('other', {})]);
  });

  it('turns status_class counters into the contract status label the pack matches with =~"5.."', () => {
    const map = parseMetricMapping({
      rename: { http_requests_total: 'http_server_request_duration_count' },
      relabel: [
        { source_labels: ['status_class'], target_label: 'http_response_status_code' },
        { action: 'labeldrop', regex: 'status_class' },
      ],
    })!;
    const [out] = map([s('http_requests_total', { faculty: 'law', status_class: '5xx' })]);
    expect(out).toEqual(s('http_server_request_duration_count', { faculty: 'law', http_response_status_code: '5xx' }));
    expect(/^(?:5..)$/.test(out!.labels['http_response_status_code']!)).toBe(true);
  });

  it('keeps, drops, maps labels and rewrites __name__ with Prometheus semantics', () => {
    const map = parseMetricMapping({
      relabel: [
        { action: 'drop', source_labels: ['__name__'], regex: 'go_.*' },
        { action: 'labelmap', regex: 'app_(.+)', replacement: '$1' },
        { source_labels: ['__name__', 'kind'], separator: ';', regex: 'pool;(.*)', target_label: '__name__', replacement: 'db_client_connections_$1' },
      ],
    })!;
    expect(map([s('go_gc', {}), s('pool', { kind: 'max', app_faculty: 'hec' })])).toEqual([s('db_client_connections_max', { kind: 'max', app_faculty: 'hec', faculty: 'hec' })]);
  });

  it('rejects bad config naming the key', () => {
    expect(() => parseMetricMapping({ rename: { 'bad name': 'x' } })).toThrow(/metrics\.rename/);
    expect(() => parseMetricMapping({ relabel: [{ action: 'replace', regex: '(' }] })).toThrow(/metrics\.relabel\.0.*(target_label|regex)/s);
    expect(() => parseMetricMapping({ relabel: [{ action: 'explode' }] })).toThrow(/metrics\.relabel\.0\.action/);
    expect(() => parseMetricMapping({ capacity: 'platform' })).toThrow(/metrics: Unrecognized key.*capacity/);
  });
});
