/**
 * `vigie gateway` as a user runs it, against the real Kafka: what an OpenTelemetry SDK
 * serializes (protobuf and JSON, gzip) and what a real Prometheus 2.42 forwards with
 * `remote_write` (bearer token) reach the topic as OTLP under the names they were sent
 * with; a gateway whose Kafka is unreachable keeps accepting into its disk spool, and a
 * restarted gateway delivers the spool.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualMetricReader } from '../../collectors/collector.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import { startDaemon } from '../support/daemon.ts';
import { PROMETHEUS_BIN } from '../support/prometheus.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { consumeTopic, spawnVigie, sumOf, waitFor, type VigieChild } from './support/collectors.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-gateway-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'it-token-3f9a';

async function startGateway(topic: string, kafka: string, extra: string[] = []): Promise<{ proc: VigieChild; url: string }> {
  const proc = spawnVigie(['gateway', '--kafka', kafka, '--topic', topic, '--listen', '127.0.0.1:0', ...extra], { VIGIE_GATEWAY_TOKEN: TOKEN });
  let url = '';
  await waitFor(
    () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(proc.output());
      if (m) url = m[1]!;
      return url !== '' || proc.child.exitCode !== null;
    },
    60_000,
    () => `the gateway to listen\n${proc.output()}`,
  );
  if (url === '') throw new Error(`gateway exited: ${proc.output()}`);
  return { proc, url };
}

async function sdkMetrics(host: string) {
  const reader = new ManualMetricReader();
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'moodle', 'host.name': host }), readers: [reader] });
  const meter = provider.getMeter('moodle.sdk');
  meter.createCounter('ecampus.logins').add(11, { faculty: 'law', outcome: 'success' });
  meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1, 2] } }).record(0.5, { faculty: 'law', 'http.route': '/quiz' });
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics;
}

describe('vigie gateway', () => {
  it('takes OTLP from an SDK (protobuf, JSON+gzip) and remote write from a real Prometheus, with bearer auth', async () => {
    const topic = uniqueTopic('vigie.test.gateway');
    await new KafkaTransport({ brokers: kafkaBrokers() }).ensureTopics([{ name: topic, partitions: 2 }]);
    const consumer = await consumeTopic(topic);
    const { proc, url } = await startGateway(topic, kafkaBrokers()[0]!);
    let prom: Awaited<ReturnType<typeof startDaemon>> | null = null;
    try {
      const auth = { authorization: `Bearer ${TOKEN}` };
      const proto = ProtobufMetricsSerializer.serializeRequest(await sdkMetrics('sdk-proto'))!;
      const r1 = await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body: proto });
      expect(r1.status).toBe(200);
      const json = JsonMetricsSerializer.serializeRequest(await sdkMetrics('sdk-json'))!;
      const r2 = await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(json) });
      expect(r2.status).toBe(200);
      const r3 = await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: proto });
      expect(r3.status).toBe(401);

      // A real Prometheus scraping itself and forwarding with remote_write.
      const pdir = mkdtempSync(join(dir, 'prom-'));
      writeFileSync(
        join(pdir, 'prometheus.yml'),
        [
          'global: { scrape_interval: 1s }',
          'scrape_configs:',
          '  - job_name: campus-prom',
          '    static_configs: [{ targets: ["PLACEHOLDER"] }]',
          'remote_write:',
          `  - url: ${url}/api/v1/write`,
          `    authorization: { credentials: ${TOKEN} }`,
          '    queue_config: { batch_send_deadline: 1s }',
          '',
        ].join('\n'),
      );
      prom = await startDaemon({
        name: 'Prometheus',
        bin: PROMETHEUS_BIN,
        dir: pdir,
        readyTimeoutMs: 30_000,
        args: (port) => {
          const cfg = join(pdir, 'prometheus.yml');
          const text = readFileSync(cfg, 'utf8');
          writeFileSync(cfg, text.replace(/"[^"]*:\d+"|"PLACEHOLDER"/, `"127.0.0.1:${port}"`));
          return [`--config.file=${cfg}`, `--storage.tsdb.path=${join(pdir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
        },
      });

      const has = (host: string, metric: string) => consumer.messages.some((m) => m.samples.some((s) => s.labels['instance'] === host && s.metric === metric));
      await waitFor(() => has('sdk-proto', 'ecampus_logins_total') && has('sdk-json', 'http_server_request_duration_bucket'), 60_000, () => `SDK metrics in Kafka\n${proc.output()}`);
      const fromProto = consumer.messages.find((m) => m.key === 'moodle/sdk-proto')!;
      expect(sumOf(fromProto, 'ecampus_logins_total', { faculty: 'law', outcome: 'success', job: 'moodle' })).toBe(11);
      const fromJson = consumer.messages.find((m) => m.key === 'moodle/sdk-json')!;
      expect(sumOf(fromJson, 'http_server_request_duration_bucket', { le: '1' })).toBe(1);
      expect(sumOf(fromJson, 'http_server_request_duration_count')).toBe(1);

      // Remote write: Prometheus's own series, names and job/instance as Prometheus has them.
      const promInstance = new URL(prom.url).host;
      await waitFor(
        () => consumer.messages.some((m) => m.samples.some((s) => s.metric === 'up' && s.labels['job'] === 'campus-prom' && s.labels['instance'] === promInstance && s.value === 1)),
        90_000,
        () => `up{job="campus-prom"} from remote write\n${proc.output()}\n${prom!.output()}`,
      );
      const counters = consumer.messages.flatMap((m) => m.samples).filter((s) => s.metric === 'prometheus_http_requests_total' && s.labels['job'] === 'campus-prom');
      expect(counters.length).toBeGreaterThan(0);
      expect(proc.output()).not.toMatch(/401 unauthorized: bearer token not accepted/);
    } finally {
      await prom?.stop();
      proc.child.kill('SIGTERM');
      await proc.exited;
      await consumer.stop();
    }
  });

  it('keeps accepting into its disk spool while Kafka is unreachable, and a restart delivers the spool', async () => {
    const topic = uniqueTopic('vigie.test.gateway.spool');
    await new KafkaTransport({ brokers: kafkaBrokers() }).ensureTopics([{ name: topic, partitions: 1 }]);
    const spool = join(dir, 'spool');
    // Nothing listens on this port of our range: Kafka is "down".
    const down = await startGateway(topic, '127.0.0.1:25999', ['--spool-dir', spool, '--buffer-mb', '0.001']);
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (let i = 0; i < 5; i++) {
      const body = ProtobufMetricsSerializer.serializeRequest(await sdkMetrics(`spooled-${i}`))!;
      const r = await fetch(`${down.url}/v1/metrics`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body });
      expect(r.status, down.proc.output()).toBe(200);
    }
    down.proc.child.kill('SIGTERM');
    await down.proc.exited;
    expect(readdirSync(spool).filter((f) => f.endsWith('.msg'))).toHaveLength(5);

    const consumer = await consumeTopic(topic);
    const up = await startGateway(topic, kafkaBrokers()[0]!, ['--spool-dir', spool]);
    try {
      await waitFor(() => consumer.messages.length >= 5, 60_000, () => `5 spooled messages delivered, have ${consumer.messages.length}\n${up.proc.output()}`);
      expect(consumer.messages.map((m) => m.key)).toEqual([0, 1, 2, 3, 4].map((i) => `moodle/spooled-${i}`));
      await waitFor(() => readdirSync(spool).filter((f) => f.endsWith('.msg')).length === 0, 10_000, () => 'an empty spool');
    } finally {
      up.proc.child.kill('SIGTERM');
      await up.proc.exited;
      await consumer.stop();
    }
  });
});
