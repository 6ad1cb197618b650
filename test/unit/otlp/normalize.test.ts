import { describe, expect, it } from 'vitest';
import { leLabel, promLabelName, promLabelValue, promMetricName } from '../../../otlp/normalize.ts';

describe('Prometheus normalization (exporter-prometheus 0.223 rules)', () => {
  it('names: dots to underscores, no unit suffix, _total on monotonic sums once', () => {
    expect(promMetricName('http.server.request.duration', 'histogram')).toBe('http_server_request_duration');
    expect(promMetricName('ecampus.logins', 'counter')).toBe('ecampus_logins_total');
    expect(promMetricName('x.y_total', 'counter')).toBe('x_y_total');
    expect(promMetricName('http.server.active_requests', 'gauge')).toBe('http_server_active_requests');
    expect(promMetricName('a-b..c', 'gauge')).toBe('a_b_c');
    expect(promMetricName('0abc', 'gauge')).toBe('_0abc');
    expect(promMetricName('..', 'gauge')).toBeUndefined();
  });
  it('labels and values', () => {
    expect(promLabelName('exam.id')).toBe('exam_id');
    expect(promLabelName('http.response.status_code')).toBe('http_response_status_code');
    expect(promLabelValue({ intValue: { low: 200, high: 0, unsigned: false } })).toBe('200');
    expect(promLabelValue({ boolValue: true })).toBe('true');
    expect(promLabelValue({ doubleValue: 1.5 })).toBe('1.5');
    expect(promLabelValue({ arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } })).toBe('["a","b"]');
    expect(leLabel(0.005)).toBe('0.005');
    expect(leLabel(undefined)).toBe('+Inf');
  });
});
