import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors.ts';
import { selfMeter, startSelfTelemetry } from '../../../core/selfTelemetry.ts';

// Created at module load, before the endpoint starts: must still be exported once it does.
const early = selfMeter('vigie.test.early').createCounter('early.events');
const earlyGauge = selfMeter('vigie.test.early').createObservableGauge('early.depth');
earlyGauge.addCallback((r) => r.observe(7));

describe('self-telemetry endpoint', () => {
  it('exposes global-meter metrics in Prometheus format without leaking host or argv', async () => {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const t = await startSelfTelemetry({ port, serviceName: 'vigie-test' });
    try {
      expect(t.url).toBe(`http://127.0.0.1:${port}/metrics`);
      selfMeter('vigie.test').createCounter('pipeline.batches').add(3, { stage: 'insert' });
      early.add(2);
      const body = await (await fetch(t.url)).text();
      expect(body).toMatch(/early_events_total\{[^}]*\} 2/);
      expect(body).toMatch(/early_depth\{[^}]*\} 7/);
      expect(body).toMatch(/pipeline_batches_total\{[^}]*stage="insert"[^}]*\} 3/);
      expect(body).toContain('target_info{service_name="vigie-test"}');
      expect(body).not.toMatch(/process_command|host_name|process_executable/);
    } finally {
      await t.shutdown();
    }
  });

  it('rejects port 0 (the exporter would silently use 9464)', async () => {
    await expect(startSelfTelemetry({ port: 0, serviceName: 'x' })).rejects.toBeInstanceOf(ConfigError);
  });
});
