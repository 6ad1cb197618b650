import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors.ts';
import { runMorning } from '../../../simulator/index.ts';
import { fakeProducer } from '../collectors/fakeProducer.ts';
import { allMetrics, allPoints, countDecodedSamples, decodeRequest } from '../collectors/otlpDecode.ts';
import { STEP_BACKSTOP_MS } from '../../support/progress.ts';

const at = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return Date.UTC(2026, 0, 12, h, m);
};

describe('runMorning', () => {
  it('lets the event loop run once per collection even when it is behind its pace (a busy machine)', async () => {
    // A pace no machine can hold: every collection is late. The in-process pipeline in the
    // same process only progresses when I/O callbacks and immediates get a turn.
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const r = await runMorning({ start: at('08:55'), durationMs: 10 * 60_000, compression: 1e12 }, { producer: fakeProducer(), topic: 'otlp_metrics' });
    running = false;
    expect(turns).toBeGreaterThanOrEqual(r.collections - 1);
  });

  it('exports through one collector per server: keys per host, simulated timestamps, samples == decoded', async () => {
    const producer = fakeProducer();
    const progress: number[] = [];
    const start = at('08:55');
    const r = await runMorning(
      { start, durationMs: 10 * 60_000, scrapeIntervalMs: 15_000 },
      { producer, topic: 'otlp_metrics', onProgress: (t) => progress.push(t) },
    );
    expect(r.collections).toBe(40);
    expect(progress[0]).toBe(start + 15_000);
    expect(progress.at(-1)).toBe(start + 10 * 60_000);
    expect(r.exportFailures).toBe(0);
    const keys = new Set(producer.sent.map((s) => s.message.key));
    expect(keys.size).toBe(r.hosts.length);
    expect(keys).toContain('ecampus/medicine-app-1');
    expect(keys).toContain('ecampus/db-1');
    expect(r.messagesSent).toBe(producer.sent.length);

    let decodedSamples = 0;
    const names = new Set<string>();
    for (const { message } of producer.sent) {
      const req = decodeRequest(message.value);
      decodedSamples += countDecodedSamples(req);
      for (const m of allMetrics(req)) names.add(m.name);
      for (const { point } of allPoints(req)) {
        const t = Number(BigInt(point.timeUnixNano) / 1_000_000n);
        expect(t).toBeGreaterThan(start);
        expect(t).toBeLessThanOrEqual(start + 10 * 60_000);
        expect((t - start) % 15_000).toBe(0);
        expect(Number(BigInt(point.startTimeUnixNano) / 1_000_000n)).toBe(start);
      }
    }
    expect(decodedSamples).toBe(r.exportedSamples);
    for (const n of [
      'ecampus.sessions.active',
      'ecampus.capacity.sessions',
      'ecampus.logins',
      'http.server.request.duration',
      'http.server.active_requests',
      'db.client.connections.usage',
      'db.client.connections.max',
      'system.network.connections',
      'system.cpu.utilization',
      'ecampus.workers.busy',
      'ecampus.workers.max',
    ]) {
      expect(names).toContain(n);
    }
    // Per-scrape sample volume stays modest (a few thousand series).
    expect(r.exportedSamples / r.collections).toBeLessThan(8000);
  }, STEP_BACKSTOP_MS); // CPU-bound (encode, decode, per-point checks): nothing to wait for but the CPU

  it('returns the ground truth of the full default morning', async () => {
    const producer = { connect: async () => {}, disconnect: async () => {}, send: async () => {} };
    const r = await runMorning({ seed: 42 }, { producer });
    expect(r.collapseAtMs).toBeGreaterThanOrEqual(at('08:45'));
    expect(r.collapseAtMs).toBeLessThanOrEqual(at('09:15'));
    expect(r.recoveredAtMs).not.toBeNull();
    expect(r.collections).toBe(720);
    expect(r.messagesSent).toBe(720 * r.hosts.length);
    expect(r.exportedSamples).toBeGreaterThan(0);
  }, STEP_BACKSTOP_MS); // a 3 h morning, CPU-bound: 15-50 s depending on the machine's load

  it('rejects bad options naming the key and the accepted values', async () => {
    const producer = fakeProducer();
    await expect(runMorning({ rampShape: 'sudden' as never }, { producer })).rejects.toThrow(/rampShape.*linear\|early\|late\|step/);
    await expect(runMorning({ capacity: 0 }, { producer })).rejects.toBeInstanceOf(ConfigError);
  });

  it('paces simulated time by the compression factor', async () => {
    const producer = fakeProducer();
    const t0 = performance.now();
    await runMorning({ start: at('07:30'), durationMs: 60_000, compression: 600 }, { producer });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90); // 60 s / 600 = 100 ms
  });
});
