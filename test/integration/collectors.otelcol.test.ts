/**
 * A stock OpenTelemetry Collector (built by scripts/otelcol.sh from the Go module proxy)
 * as Vigie's peer, both directions at once: what an SDK sends it over OTLP/HTTP goes
 * (a) to Kafka through its `kafka` exporter (`otlp_proto`), where `vigie ingest` stores
 * every sample, and (b) through its `otlphttp` exporter to `vigie gateway`, which puts
 * the same points on another topic. A missing Collector binary fails the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualMetricReader } from '../../collectors/collector.ts';
import { countExportedSamples } from '../../otlp/encode.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { consumeTopic, spawnVigie, waitFor, type VigieChild } from './support/collectors.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vigie-otelcol-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'otelcol-peer-token';
/** A port of this suite's range (25000-25999), spread so parallel runs rarely collide. */
const port = (k: number) => 25000 + ((process.pid * 7 + k * 131) % 900);

describe('a stock OpenTelemetry Collector as a peer', () => {
  it('SDK → Collector → Kafka → vigie ingest stores every sample, and the Collector\'s otlphttp exporter feeds vigie gateway', async () => {
    // Builds once (cached outside the repo); later runs only check the binary.
    const otelcol = execFileSync('bash', [join(ROOT, 'scripts/otelcol.sh')], { encoding: 'utf8', timeout: 1_800_000 }).trim().split('\n').pop()!;
    const direct = uniqueTopic('vigie.test.otelcol.direct');
    const viaGateway = uniqueTopic('vigie.test.otelcol.gateway');
    const t = new KafkaTransport({ brokers: kafkaBrokers() });
    await t.ensureTopics([{ name: direct, partitions: 2 }, { name: viaGateway, partitions: 2 }]);

    const procs: VigieChild[] = [];
    const gatewayConsumer = await consumeTopic(viaGateway);
    try {
      const gw = spawnVigie(['gateway', '--kafka', kafkaBrokers()[0]!, '--topic', viaGateway, '--listen', '127.0.0.1:0'], { VIGIE_GATEWAY_TOKEN: TOKEN });
      procs.push(gw);
      let gwUrl = '';
      await waitFor(() => ((gwUrl = /listening on (http:\/\/[\d.]+:\d+)/.exec(gw.output())?.[1] ?? ''), gwUrl !== ''), 60_000, () => gw.output());

      const otlpPort = port(1);
      const cfg = join(dir, 'otelcol.yaml');
      writeFileSync(
        cfg,
        [
          'receivers:',
          '  otlp:',
          '    protocols:',
          `      http: { endpoint: "127.0.0.1:${otlpPort}" }`,
          'exporters:',
          '  kafka:',
          `    brokers: ["${kafkaBrokers()[0]}"]`,
          '    metrics:',
          `      topic: ${direct}`,
          '      encoding: otlp_proto',
          '  otlphttp:',
          `    endpoint: ${gwUrl}`,
          `    headers: { Authorization: "Bearer ${TOKEN}" }`,
          'service:',
          '  telemetry:',
          '    metrics: { level: none }',
          '  pipelines:',
          '    metrics:',
          '      receivers: [otlp]',
          '      exporters: [kafka, otlphttp]',
          '',
        ].join('\n'),
      );
      execFileSync(otelcol, ['validate', `--config=${cfg}`], { encoding: 'utf8' });
      const { spawn } = await import('node:child_process');
      const col = spawn(otelcol, [`--config=${cfg}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let colOut = '';
      col.stdout.on('data', (c: Buffer) => (colOut += c.toString()));
      col.stderr.on('data', (c: Buffer) => (colOut += c.toString()));
      try {
        // The SDK side: three collections, serialized as the OTLP/HTTP protobuf exporter does.
        const reader = new ManualMetricReader();
        const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'moodle', 'host.name': 'sdk-host' }), readers: [reader] });
        const meter = provider.getMeter('moodle');
        const logins = meter.createCounter('ecampus.logins');
        const dur = meter.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1, 2.5] } });
        let expected = 0;
        for (let i = 0; i < 3; i++) {
          logins.add(5 + i, { faculty: 'law', outcome: 'success' });
          dur.record(0.3 * (i + 1), { faculty: 'law', 'http.route': '/quiz' });
          const { resourceMetrics } = await reader.collect();
          expected += countExportedSamples(resourceMetrics);
          const body = ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!;
          await waitFor(
            async () => {
              try {
                const r = await fetch(`http://127.0.0.1:${otlpPort}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
                return r.status === 200;
              } catch {
                return false; // the Collector is still starting
              }
            },
            60_000,
            () => `the Collector to accept OTLP\n${colOut}`,
          );
        }
        await provider.shutdown();

        // (b) Collector → vigie gateway → Kafka: the same samples.
        await waitFor(
          () => gatewayConsumer.messages.reduce((n, m) => n + m.samples.length, 0) >= expected,
          60_000,
          () => `${expected} samples via the gateway, have ${gatewayConsumer.messages.reduce((n, m) => n + m.samples.length, 0)}\n${colOut}\n${gw.output()}`,
        );
        const viaGw = gatewayConsumer.messages.flatMap((m) => m.samples);
        expect(viaGw).toHaveLength(expected);
        const lastLogins = viaGw.filter((s) => s.metric === 'ecampus_logins_total').sort((a, b) => b.timestampMs - a.timestampMs)[0];
        expect(lastLogins).toMatchObject({ value: 18, labels: { faculty: 'law', outcome: 'success', job: 'moodle', instance: 'sdk-host' } });

        // (a) Collector → Kafka → vigie ingest: every sample stored.
        const metricsPort = port(2);
        const ingestCfg = join(dir, 'ingest.yml');
        writeFileSync(ingestCfg, `kafka:\n  topic: ${direct}\n  groupId: ${uniqueTopic('vigie.test.otelcol.ingest')}\n`);
        const ingest = spawnVigie(['--config', ingestCfg, 'ingest', '--kafka', kafkaBrokers()[0]!, '--chdb-path', join(dir, 'chdb'), '--metrics-port', String(metricsPort), '--state', join(dir, 'state.json'), '--outbox', join(dir, 'outbox')]);
        procs.push(ingest);
        const stored = async (): Promise<number> => {
          try {
            const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
            return Number(/^pipeline_samples_stored_total(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? 0);
          } catch {
            return 0;
          }
        };
        await waitFor(async () => (await stored()) >= expected, 120_000, () => `vigie ingest to store ${expected} samples\n${ingest.output()}`);
        expect(await stored()).toBe(expected);
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(text).not.toMatch(/^pipeline_samples_rejected_total\{[^}]*\} [1-9]/m);
        expect(text).not.toMatch(/^pipeline_dlq_total\{[^}]*\} [1-9]/m);
      } finally {
        col.kill('SIGTERM');
        await new Promise((r) => col.once('exit', r));
      }
    } finally {
      for (const p of procs) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
      await gatewayConsumer.stop();
    }
  }, 2_700_000); // a cold cache builds the Collector first (~30 min on 2 busy cores); CI should run scripts/otelcol.sh before the suite
});
