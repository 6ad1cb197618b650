import { describe, expect, it } from 'vitest';
import { createNginxStatusSource, createPhpFpmStatusSource, parsePhpFpmStatus, parseStubStatus } from '../../../collectors/serverStatus.ts';
import { createPromScrapeSource } from '../../../collectors/promScrape.ts';
import { parseExposition } from '../../../collectors/promText.ts';
import type { MetricPoints } from '../../../collectors/pointBatch.ts';

const STUB = 'Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n';
const FPM = JSON.stringify({
  pool: 'www', 'process manager': 'static', 'start time': 1765000000, 'start since': 100, 'accepted conn': 5120, 'listen queue': 37,
  'max listen queue': 80, 'listen queue len': 511, 'idle processes': 0, 'active processes': 16, 'total processes': 16,
  'max active processes': 16, 'max children reached': 4, 'slow requests': 2,
});
const res = (body: string, status = 200, type = 'text/plain') => async () => new Response(body, { status, headers: { 'content-type': type } });
const val = (ms: readonly MetricPoints[], name: string, match: Record<string, string> = {}) => {
  const p = ms.find((x) => x.name === name)?.points.find((q) => Object.entries(match).every(([k, v]) => q.attributes[k] === v));
  return p && 'value' in p ? p.value : undefined;
};
const resource = { 'service.name': 'ecampus', 'host.name': 'web-1' };

describe('nginx stub_status', () => {
  it('parses the page and emits connection states and counters', async () => {
    expect(parseStubStatus(STUB)).toEqual({ active: 291, accepts: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 });
    const [b] = await createNginxStatusSource({ url: 'http://x/nginx_status', resource, startMs: 0, fetch: res(STUB) as typeof fetch }).collect(1);
    expect(val(b!.metrics, 'nginx.connections_current', { state: 'writing' })).toBe(179);
    expect(val(b!.metrics, 'nginx.requests')).toBe(31070465);
    expect(val(b!.metrics, 'vigie.scrape.up')).toBe(1);
  });
  it('reports up=0 with the reason when the page is wrong or unreachable', async () => {
    const errors: string[] = [];
    const [b] = await createNginxStatusSource({ url: 'http://x/s', resource, startMs: 0, fetch: res('<html>', 200) as typeof fetch, onError: (e) => errors.push(e) }).collect(1);
    expect(val(b!.metrics, 'vigie.scrape.up')).toBe(0);
    expect(errors[0]).toMatch(/not an nginx stub_status page/);
    expect(() => parseStubStatus('')).toThrow();
  });
});

describe('PHP-FPM status', () => {
  it('emits raw pool gauges and the contract worker gauges the pack reads', async () => {
    expect(parsePhpFpmStatus(FPM)).toMatchObject({ listenQueue: 37, active: 16, total: 16, maxChildrenReached: 4 });
    let asked = '';
    const f = (async (u: string) => ((asked = u), new Response(FPM))) as unknown as typeof fetch;
    const [b] = await createPhpFpmStatusSource({ url: 'http://x/fpm-status', resource, startMs: 0, faculty: 'law', maxChildren: 16, fetch: f }).collect(1);
    expect(asked).toBe('http://x/fpm-status?json');
    expect(val(b!.metrics, 'php_fpm.listen_queue')).toBe(37);
    // 37 requests wait for a worker: the worker serving the poll would be busy with one of them.
    expect(val(b!.metrics, 'ecampus.workers.busy', { faculty: 'law', server: 'web-1' })).toBe(16);
    expect(val(b!.metrics, 'ecampus.workers.max', { faculty: 'law' })).toBe(16);
    expect(() => parsePhpFpmStatus('{"pool":"www"}')).toThrow(/no numeric "accepted conn"/);
  });
  it('reports the mean of the polls since the last export as the busy-worker gauge', async () => {
    const body = (active: number) => FPM.replace('"listen queue":37', '"listen queue":0').replace('"active processes":16', `"active processes":${active}`);
    const replies = [body(1), body(9), body(17), body(5)];
    let i = 0;
    const f = (async () => new Response(replies[i++]!)) as unknown as typeof fetch;
    const src = createPhpFpmStatusSource({ url: 'http://x/fpm-status', resource, startMs: 0, faculty: 'law', maxChildren: 16, sampleMs: 1_000, fetch: f });
    expect(src.sampleMs).toBe(1_000);
    await src.sample!(0);
    await src.sample!(1_000);
    const [b] = await src.collect(2_000); // polls 0, 8 and 16 busy (the poll's own worker aside)
    expect(val(b!.metrics, 'ecampus.workers.busy', { faculty: 'law' })).toBe(8);
    expect(val(b!.metrics, 'php_fpm.processes', { state: 'active' })).toBe(17); // raw gauges: the last reading
    const [c] = await src.collect(3_000); // a new interval: only its own poll
    expect(val(c!.metrics, 'ecampus.workers.busy', { faculty: 'law' })).toBe(4);
  });
  it('does not count the worker serving the poll as busy while nothing waits', async () => {
    const idleQueue = FPM.replace('"listen queue":37', '"listen queue":0').replace('"active processes":16', '"active processes":12');
    const f = (async () => new Response(idleQueue)) as unknown as typeof fetch;
    const [b] = await createPhpFpmStatusSource({ url: 'http://x/fpm-status', resource, startMs: 0, faculty: 'law', maxChildren: 16, fetch: f }).collect(1);
    expect(val(b!.metrics, 'ecampus.workers.busy', { faculty: 'law' })).toBe(11);
    const [c] = await createPhpFpmStatusSource({ url: 'http://x/fpm-status', resource, startMs: 0, faculty: 'law', statusInPool: false, fetch: f }).collect(1);
    expect(val(c!.metrics, 'ecampus.workers.busy', { faculty: 'law' })).toBe(12);
  });
});

describe('Prometheus text / OpenMetrics', () => {
  it('parses labels with escapes, special values, timestamps in the right unit, and reports bad lines', () => {
    const text = [
      '# TYPE pg_up gauge',
      'pg_up 1',
      'http_requests_total{method="GET",path="/a\\"b"} 12 1765000000000',
      'weird{le="+Inf"} +Inf',
      'broken{x=1} 3',
      'nan_metric NaN',
    ].join('\n');
    const p = parseExposition(text, { flavour: 'prometheus', defaultTimestampMs: 5 });
    expect(p.samples.map((s) => [s.labels['__name__'], s.value, s.timestampMs])).toEqual([
      ['pg_up', 1, 5],
      ['http_requests_total', 12, 1765000000000],
      ['weird', Infinity, 5],
      ['nan_metric', NaN, 5],
    ]);
    expect(p.samples[1]!.labels['path']).toBe('/a"b');
    expect(p.errors).toEqual([{ line: 5, text: 'broken{x=1} 3', reason: 'label x: value must be quoted' }]);
    const om = parseExposition('# TYPE a counter\na_total 3 1765000000.5\na_created 1765000000\n# EOF\nafter 1', { flavour: 'openmetrics', defaultTimestampMs: 0 });
    expect(om.samples).toEqual([{ labels: { __name__: 'a_total' }, value: 3, timestampMs: 1765000000500 }]);
    expect(om.sawEof).toBe(true);
  });

  it('a scrape keeps names and labels, with job/instance as resource, and an up gauge', async () => {
    const body = '# TYPE pg_stat_activity_count gauge\npg_stat_activity_count{datname="moodle",state="active"} 42\nbad line here\n';
    const errs: string[] = [];
    const src = createPromScrapeSource({ url: 'http://db-1:9187/metrics', job: 'postgres', startMs: 0, fetch: res(body) as typeof fetch, onError: (e) => errs.push(e) });
    const batches = await src.collect(1_000);
    expect(batches.every((b) => b.resource['service.name'] === 'postgres' && b.resource['host.name'] === 'db-1:9187')).toBe(true);
    const all = batches.flatMap((b) => b.metrics);
    expect(val(all, 'pg_stat_activity_count', { datname: 'moodle', state: 'active' })).toBe(42);
    expect(val(all, 'up')).toBe(1);
    expect(val(all, 'vigie.scrape.errors')).toBe(1);
    expect(errs[0]).toMatch(/line 3/);
  });
});
