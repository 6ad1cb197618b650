/**
 * Host saturation probe for a live collector: CPU utilization (from `os.cpus()` time
 * deltas) and TCP connections by state (from /proc/net/tcp{,6}), written into the
 * collector's gauge tables, which the OTel SDK observes at each collection.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { EcampusState } from './meters.ts';

// Kernel TCP state codes (include/net/tcp_states.h) → OTel `network.connection.state` values.
const TCP_STATES: Readonly<Record<string, string>> = {
  '01': 'established',
  '02': 'syn_sent',
  '03': 'syn_received',
  '04': 'fin_wait_1',
  '05': 'fin_wait_2',
  '06': 'time_wait',
  '07': 'close',
  '08': 'close_wait',
  '09': 'last_ack',
  '0A': 'listen',
  '0B': 'closing',
};

/** Counts TCP sockets by state from /proc/net/tcp-format text. */
export function countTcpStates(procText: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of procText.split('\n').slice(1)) {
    const st = line.trim().split(/\s+/)[3];
    const name = st ? TCP_STATES[st] : undefined;
    if (name) out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

/** A probe that refreshes host gauges each time `sample()` is called. */
export function createHostProbe(state: EcampusState, server: string): { sample(): void } {
  let prev = cpuTimes();
  return {
    sample() {
      const cur = cpuTimes();
      const total = cur.total - prev.total;
      state.cpuUtilization.set({ server }, total > 0 ? (cur.busy - prev.busy) / total : 0);
      prev = cur;
      const counts = new Map<string, number>();
      for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try {
          text = readFileSync(f, 'utf8');
        } catch {
          continue; // not Linux, or no IPv6: report what we can
        }
        for (const [k, v] of countTcpStates(text)) counts.set(k, (counts.get(k) ?? 0) + v);
      }
      for (const name of Object.values(TCP_STATES)) state.networkConnections.set({ server, 'network.connection.state': name }, counts.get(name) ?? 0);
    },
  };
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}
