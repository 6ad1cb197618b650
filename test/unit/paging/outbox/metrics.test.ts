import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ReceiverError } from '../../../../paging/receivers/http.ts';
import { createOutbox } from '../../../../paging/outbox/outbox.ts';

class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe('outbox self-metrics', () => {
  it('exports depth, retried, delivered and undeliverable on the vigie.alerts meter', async () => {
    const reader = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
    let t = T0;
    let fail = 1;
    const ob = createOutbox({
      dir: mkdtempSync(join(tmpdir(), 'vigie-obm-')),
      clock: () => t,
      log: () => undefined,
      random: () => 0,
      deliver: async (e) => {
        if (e.id === 'bad') throw new ReceiverError('400', { retriable: false, status: 400 });
        if (fail-- > 0) throw new ReceiverError('503', { retriable: true, status: 503 });
      },
    });
    const message = { groupKey: 'g', groupLabels: {}, status: 'firing' as const, alerts: [] };
    ob.enqueue([
      { id: 'ok', receiver: 'pd', key: 'k1', message },
      { id: 'bad', receiver: 'pd', key: 'k2', message },
      { id: 'later', receiver: 'chat', key: 'k3', message },
    ]);
    await ob.tick(t);
    const collect = async () => {
      const { resourceMetrics } = await reader.collect();
      const out: Record<string, number> = {};
      for (const sm of resourceMetrics.scopeMetrics) {
        if (sm.scope.name !== 'vigie.alerts') continue;
        for (const m of sm.metrics) out[m.descriptor.name] = m.dataPoints.reduce((s, p) => s + (p.value as number), 0);
      }
      return out;
    };
    expect(await collect()).toMatchObject({ 'alerts.outbox.delivered': 1, 'alerts.outbox.retried': 1, 'alerts.outbox.undeliverable': 1, 'alerts.outbox.depth': 1 });
    t += 10_000;
    await ob.tick(t);
    expect(await collect()).toMatchObject({ 'alerts.outbox.delivered': 2, 'alerts.outbox.depth': 0 });
    ob.close();
  });
});
