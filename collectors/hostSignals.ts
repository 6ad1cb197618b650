/**
 * Host saturation from /proc, read each collection: listen-queue overflows and drops
 * (`TcpExt: ListenOverflows ListenDrops` in /proc/net/netstat — a saturated accept
 * queue shows there before anything else), each listening socket's accept queue
 * against its backlog, TCP connections by state, CPU, memory and file descriptors.
 * Parsers take the file text, so tests feed fixtures; the source reads the real files.
 */
import { readFileSync } from 'node:fs';
import { countTcpStates } from './hostProbe.ts';
import type { MetricPoints, NumberPoint, PointBatch } from './pointBatch.ts';

/** Parses /proc/net/netstat (or /proc/net/snmp): `Prefix: names…` / `Prefix: values…` line pairs. */
export function parseNetstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const prefix = names[0];
    if (!prefix || prefix !== values[0]) continue;
    for (let k = 1; k < names.length; k++) out.set(`${prefix.replace(/:$/, '')}.${names[k]}`, Number(values[k]));
  }
  return out;
}

/**
 * Listening TCP sockets of /proc/net/tcp{,6} text: for a LISTEN socket the kernel puts
 * the current accept-queue length in `rx_queue` and the backlog in `tx_queue`.
 */
export function listenQueues(procText: string): { port: number; queue: number; backlog: number }[] {
  const out: { port: number; queue: number; backlog: number }[] = [];
  for (const line of procText.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] !== '0A') continue;
    const port = parseInt(f[1]!.split(':').pop()!, 16);
    const [tx, rx] = f[4]!.split(':');
    out.push({ port, queue: parseInt(rx!, 16), backlog: parseInt(tx!, 16) });
  }
  return out;
}

/** /proc/meminfo → bytes by key. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return out;
}

/** /proc/stat aggregate CPU line → busy and total jiffies; also `btime`. */
export function parseProcStat(text: string): { busy: number; total: number; bootMs: number } {
  let busy = 0;
  let total = 0;
  let bootMs = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const v = line.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal (guest is inside user)
      const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
      total = user + nice + system + idle + iowait + irq + softirq + steal;
      busy = total - idle - iowait;
    } else if (line.startsWith('btime ')) bootMs = Number(line.split(/\s+/)[1]) * 1000;
  }
  return { busy, total, bootMs };
}

/** A collection source: what it read, as point batches. */
export interface MetricSource {
  readonly name: string;
  collect(nowMs: number): Promise<PointBatch[]>;
  /**
   * Sources whose gauge is a time average (busy workers) read between exports too: the
   * runner calls `sample` every `sampleMs`, and `collect` reports the mean since the last export.
   */
  readonly sampleMs?: number;
  sample?(nowMs: number): Promise<void>;
}

/** Options of {@link createHostSource}. */
export interface HostSourceOptions {
  readonly resource: Readonly<Record<string, string>>;
  /** Root of the proc filesystem (tests point it at a fixture directory). */
  readonly procRoot?: string;
  /** Only these listening ports get accept-queue gauges; default all. */
  readonly listenPorts?: readonly number[];
}

/** The /proc source; see the module comment. */
export function createHostSource(opts: HostSourceOptions): MetricSource {
  const root = opts.procRoot ?? '/proc';
  const read = (p: string): string | null => {
    try {
      return readFileSync(`${root}/${p}`, 'utf8');
    } catch {
      return null;
    }
  };
  const server = opts.resource['host.name'] ?? '';
  let prevCpu: { busy: number; total: number } | null = null;
  return {
    name: 'host',
    async collect(nowMs: number): Promise<PointBatch[]> {
      const metrics: MetricPoints[] = [];
      const stat = read('stat');
      let bootMs = nowMs;
      if (stat !== null) {
        const cur = parseProcStat(stat);
        bootMs = cur.bootMs || nowMs;
        if (prevCpu !== null && cur.total > prevCpu.total) {
          const u = (cur.busy - prevCpu.busy) / (cur.total - prevCpu.total);
          metrics.push({ kind: 'gauge', name: 'system.cpu.utilization', unit: '1', points: [{ attributes: { server }, value: u }] });
        }
        prevCpu = cur;
      }
      const netstat = read('net/netstat');
      if (netstat !== null) {
        const n = parseNetstat(netstat);
        const sum = (name: string, key: string, description: string) => {
          const v = n.get(key);
          if (v !== undefined) metrics.push({ kind: 'sum', name, monotonic: true, description, points: [{ attributes: { server }, value: v }] });
        };
        sum('system.network.tcp.listen_overflows', 'TcpExt.ListenOverflows', 'Connections refused because an accept queue was full (since boot)');
        sum('system.network.tcp.listen_drops', 'TcpExt.ListenDrops', 'SYNs dropped at a listening socket (since boot)');
      }
      const states = new Map<string, number>();
      const queue: NumberPoint[] = [];
      const backlog: NumberPoint[] = [];
      for (const f of ['net/tcp', 'net/tcp6']) {
        const t = read(f);
        if (t === null) continue;
        for (const [k, v] of countTcpStates(t)) states.set(k, (states.get(k) ?? 0) + v);
        for (const q of listenQueues(t)) {
          if (opts.listenPorts && !opts.listenPorts.includes(q.port)) continue;
          const attributes = { server, 'server.port': String(q.port), 'network.type': f.endsWith('6') ? 'ipv6' : 'ipv4' };
          queue.push({ attributes, value: q.queue });
          backlog.push({ attributes, value: q.backlog });
        }
      }
      if (states.size > 0) {
        metrics.push({
          kind: 'gauge',
          name: 'system.network.connections',
          description: 'TCP connections by state',
          points: [...states].map(([state, value]) => ({ attributes: { server, 'network.connection.state': state, 'network.transport': 'tcp' }, value })),
        });
      }
      metrics.push({ kind: 'gauge', name: 'system.network.tcp.listen_queue', description: 'Connections waiting in a listening socket\'s accept queue', points: queue });
      metrics.push({ kind: 'gauge', name: 'system.network.tcp.listen_backlog', description: 'Accept-queue limit of a listening socket', points: backlog });
      const mem = read('meminfo');
      if (mem !== null) {
        const m = parseMeminfo(mem);
        const total = m.get('MemTotal') ?? 0;
        const avail = m.get('MemAvailable') ?? m.get('MemFree') ?? 0;
        if (total > 0) {
          metrics.push({ kind: 'gauge', name: 'system.memory.usage', unit: 'By', points: [{ attributes: { server, 'system.memory.state': 'used' }, value: total - avail }, { attributes: { server, 'system.memory.state': 'available' }, value: avail }] });
          metrics.push({ kind: 'gauge', name: 'system.memory.utilization', unit: '1', points: [{ attributes: { server }, value: (total - avail) / total }] });
        }
      }
      const fileNr = read('sys/fs/file-nr');
      if (fileNr !== null) {
        const [allocated, , max] = fileNr.trim().split(/\s+/).map(Number);
        if (Number.isFinite(allocated) && Number.isFinite(max)) {
          metrics.push({ kind: 'gauge', name: 'system.fd.usage', description: 'Allocated file handles (host)', points: [{ attributes: { server }, value: allocated! }] });
          metrics.push({ kind: 'gauge', name: 'system.fd.max', description: 'File handle limit (host)', points: [{ attributes: { server }, value: max! }] });
        }
      }
      return [{ resource: opts.resource, scope: 'vigie.collectors.host', timeMs: nowMs, startMs: bootMs, metrics }];
    },
  };
}
