import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createHostSource, listenQueues, parseNetstat } from '../../../collectors/hostSignals.ts';
import type { MetricPoints } from '../../../collectors/pointBatch.ts';

const FIX = fileURLToPath(new URL('./fixtures/proc', import.meta.url));
const val = (ms: readonly MetricPoints[], name: string, match: Record<string, string> = {}) => {
  const m = ms.find((x) => x.name === name);
  const p = m?.points.find((q) => Object.entries(match).every(([k, v]) => q.attributes[k] === v));
  return p && 'value' in p ? p.value : undefined;
};

describe('host signals from /proc', () => {
  it('reads listen overflows/drops, accept queues against backlog, TCP states, memory, fds and CPU', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vigie-proc-'));
    try {
      cpSync(FIX, root, { recursive: true });
      const src = createHostSource({ resource: { 'service.name': 'ecampus', 'host.name': 'web-1' }, procRoot: root });
      const [first] = await src.collect(1_000);
      expect(first!.startMs).toBe(1765000000_000);
      const m1 = first!.metrics;
      expect(val(m1, 'system.network.tcp.listen_overflows')).toBe(1742);
      expect(val(m1, 'system.network.tcp.listen_drops')).toBe(1750);
      expect(val(m1, 'system.network.tcp.listen_queue', { 'server.port': '8080' })).toBe(0x81);
      expect(val(m1, 'system.network.tcp.listen_backlog', { 'server.port': '8080' })).toBe(0x200);
      expect(val(m1, 'system.network.connections', { 'network.connection.state': 'established' })).toBe(2);
      expect(val(m1, 'system.network.connections', { 'network.connection.state': 'time_wait' })).toBe(1);
      expect(val(m1, 'system.memory.utilization')).toBeCloseTo(0.75, 9);
      expect(val(m1, 'system.fd.usage')).toBe(4096);
      expect(val(m1, 'system.cpu.utilization')).toBeUndefined(); // needs two readings
      writeFileSync(join(root, 'stat'), 'cpu  200 0 200 800 100 0 0 0 0 0\nbtime 1765000000\n');
      const [second] = await src.collect(2_000);
      // busy +200 of total +300
      expect(val(second!.metrics, 'system.cpu.utilization', { server: 'web-1' })).toBeCloseTo(2 / 3, 9);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('parsers ignore what they do not know', () => {
    expect(parseNetstat('garbage\n').size).toBe(0);
    expect(listenQueues('header\n 0: 0100007F:0050 00000000:0000 01 00000000:00000000 x')).toEqual([]);
  });
});
