import { describe, expect, it } from 'vitest';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { manualClock } from '../../../core/clock.ts';
import { UnavailableError } from '../../../core/errors.ts';
import { TOPICS } from '../../../transport/types.ts';
import { createCollector, HTTP_DURATION_BUCKETS, ManualMetricReader, OtlpTransportExporter } from '../../../collectors/index.ts';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { countExportedSamples, resourceKey } from '../../../otlp/encode.ts';
import { fakeProducer } from './fakeProducer.ts';
import { allMetrics, allPoints, attrsOf, countDecodedSamples, decodeRequest } from './otlpDecode.ts';

const T0 = Date.UTC(2026, 0, 12, 7, 30);

function setup() {
  const producer = fakeProducer();
  const clock = manualClock(T0);
  const c = createCollector({ producer, resource: { hostName: 'law-app-1' }, timestampOverride: clock.now });
  const { state, logins, requestDuration } = c.instruments;
  state.sessionsActive.set({ faculty: 'law', 'exam.id': 'law-civil-b1', server: 'law-app-1' }, 420);
  state.capacitySessions.set({ faculty: 'law', server: 'law-app-1' }, 400);
  logins.add(5, { faculty: 'law', 'exam.id': 'law-civil-b1', outcome: 'success' });
  logins.add(2, { faculty: 'law', 'exam.id': 'law-civil-b1', outcome: 'failure' });
  const attrs = {
    faculty: 'law',
    'exam.id': 'law-civil-b1',
    'http.route': '/mod/quiz/attempt.php',
    'http.request.method': 'GET',
    'http.response.status_code': 200,
  };
  for (const v of [0.02, 0.3, 0.3, 12]) requestDuration.record(v, attrs);
  requestDuration.record(30, { ...attrs, 'http.response.status_code': 504 });
  return { producer, clock, c };
}

describe('collector → OTLP on the transport', () => {
  it('sends one message keyed by service/host whose bytes decode back, stamped with the injected clock', async () => {
    const { producer, clock, c } = setup();
    clock.set(T0 + 15_000);
    const out = await c.collect();
    expect(producer.sent).toHaveLength(1);
    const { topic, message } = producer.sent[0]!;
    expect(topic).toBe(TOPICS.metrics);
    expect(message.key).toBe('ecampus/law-app-1');
    expect(out.bytes).toBe(message.value.byteLength);

    const req = decodeRequest(message.value);
    const res = attrsOf(req.resourceMetrics[0]?.resource?.attributes);
    expect(res).toMatchObject({ 'service.name': 'ecampus', 'host.name': 'law-app-1', 'vigie.collector': 'vigie-collector' });

    const points = allPoints(req);
    expect(points.length).toBeGreaterThan(0);
    const endNs = String(BigInt(T0 + 15_000) * 1_000_000n);
    const startNs = String(BigInt(T0) * 1_000_000n);
    for (const { point } of points) {
      expect(point.timeUnixNano).toBe(endNs);
      expect(point.startTimeUnixNano).toBe(startNs);
    }
    // samples: 2 gauges + 2 login series + 2 histogram series × (16 buckets + sum + count)
    expect(out.samples).toBe(2 + 2 + 2 * 18);
    expect(countDecodedSamples(req)).toBe(out.samples);
    expect(c.stats()).toMatchObject({ messages: 1, samples: out.samples, bytes: out.bytes, failures: 0 });
  });

  it('encodes the metric contract: names, units, buckets, attributes, cumulative temporality', async () => {
    const { producer, clock, c } = setup();
    clock.set(T0 + 15_000);
    await c.collect();
    c.instruments.logins.add(3, { faculty: 'law', 'exam.id': 'law-civil-b1', outcome: 'success' });
    clock.set(T0 + 30_000);
    await c.collect();
    const req = decodeRequest(producer.sent[1]!.message.value);
    const byName = new Map(allMetrics(req).map((m) => [m.name, m]));
    const hist = byName.get('http.server.request.duration');
    expect(hist?.unit).toBe('s');
    expect(hist?.histogram?.aggregationTemporality).toBe(2); // CUMULATIVE
    const ok = hist?.histogram?.dataPoints?.find((p) => attrsOf(p.attributes)['http.response.status_code'] === 200);
    expect(ok?.explicitBounds).toEqual([...HTTP_DURATION_BUCKETS]);
    expect(ok?.count).toBe('4');
    expect(attrsOf(ok?.attributes)).toEqual({
      faculty: 'law',
      'exam.id': 'law-civil-b1',
      'http.route': '/mod/quiz/attempt.php',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
    const loginsMetric = byName.get('ecampus.logins');
    expect(loginsMetric?.sum?.isMonotonic).toBe(true);
    expect(loginsMetric?.sum?.aggregationTemporality).toBe(2);
    const success = loginsMetric?.sum?.dataPoints?.find((p) => attrsOf(p.attributes)['outcome'] === 'success');
    expect(success?.asDouble ?? Number(success?.asInt)).toBe(8); // cumulative: 5 then +3
    const sessions = byName.get('ecampus.sessions.active');
    const sp = sessions?.sum?.dataPoints?.[0] ?? sessions?.gauge?.dataPoints?.[0];
    expect(sp?.asDouble ?? Number(sp?.asInt)).toBe(420);
    expect(byName.get('ecampus.capacity.sessions')?.gauge?.dataPoints).toHaveLength(1);
  });

  it('records a transport failure as data, rejects that collection, and recovers on the next one', async () => {
    const { producer, clock, c } = setup();
    producer.failNext = 1;
    clock.set(T0 + 15_000);
    await expect(c.collect()).rejects.toBeInstanceOf(UnavailableError);
    expect(c.stats().failures).toBe(1);
    expect(c.stats().lastError).toContain('broker unreachable');
    clock.set(T0 + 30_000);
    const out = await c.collect();
    expect(out.samples).toBeGreaterThan(0);
    expect(producer.sent).toHaveLength(1);
  });

  it('sends nothing when nothing was recorded', async () => {
    const producer = fakeProducer();
    const c = createCollector({ producer, resource: { hostName: 'idle-1' } });
    expect(await c.collect()).toEqual({ samples: 0, bytes: 0 });
    expect(producer.sent).toHaveLength(0);
    await c.shutdown();
  });

  it('implements PushMetricExporter: SUCCESS / FAILED through the callback, refuses after shutdown', async () => {
    const reader = new ManualMetricReader();
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'ecampus', 'host.name': 'hec-app-2' }),
      readers: [reader],
    });
    const h = provider.getMeter('t').createHistogram('http.server.request.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
    });
    h.record(0.2, { faculty: 'hec', 'http.route': '/login/index.php' });
    provider.getMeter('t').createCounter('ecampus.logins').add(1, { faculty: 'hec', outcome: 'success' });
    const { resourceMetrics } = await reader.collect();
    expect(countExportedSamples(resourceMetrics)).toBe(18 + 1);
    expect(resourceKey(resourceMetrics)).toBe('ecampus/hec-app-2');

    const producer = fakeProducer();
    const exporter = new OtlpTransportExporter({ producer, topic: 'otlp_metrics' });
    const exportOnce = () => new Promise<ExportResult>((resolve) => exporter.export(resourceMetrics, resolve));

    producer.failNext = 1;
    expect((await exportOnce()).code).toBe(ExportResultCode.FAILED);
    expect((await exportOnce()).code).toBe(ExportResultCode.SUCCESS);
    expect(countDecodedSamples(decodeRequest(producer.sent[0]!.message.value))).toBe(19);
    expect(exporter.stats()).toMatchObject({ exports: 2, messages: 1, samples: 19, failures: 1 });

    await exporter.shutdown();
    expect((await exportOnce()).code).toBe(ExportResultCode.FAILED);
    expect(producer.sent).toHaveLength(1);
    await provider.shutdown();
  });

  it('live mode exports periodically with wall-clock timestamps; collect() flushes', async () => {
    const producer = fakeProducer();
    const c = createCollector({ producer, resource: { hostName: 'live-1', serviceName: 'ecampus' }, intervalMs: 60_000 });
    c.instruments.state.cpuUtilization.set({ server: 'live-1' }, 0.42);
    const before = Date.now();
    const out = await c.collect();
    expect(out.samples).toBe(1);
    expect(producer.sent[0]?.message.key).toBe('ecampus/live-1');
    const point = allPoints(decodeRequest(producer.sent[0]!.message.value))[0]!.point;
    expect(Number(BigInt(point.timeUnixNano) / 1_000_000n)).toBeGreaterThanOrEqual(before - 1);
    await c.shutdown();
  });
});
