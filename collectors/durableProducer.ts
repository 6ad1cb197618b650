/**
 * A producer that keeps collecting while Kafka is unreachable: `send()` accepts messages
 * into a bounded in-memory buffer (and, when that is full, an optional disk spool that
 * also survives a restart); one background loop delivers them in order to the real
 * producer with jittered exponential backoff. When both are full the message is refused
 * with a retriable `BufferFullError` and counted as dropped, so the caller (the gateway)
 * can answer 429/503, and loss is a visible counter rather than silence.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { backoffDelay } from '../core/retry.ts';
import { describeError, UnavailableError } from '../core/errors.ts';
import { selfMeter } from '../core/selfTelemetry.ts';
import type { OutgoingMessage, TransportProducer } from '../transport/types.ts';

/** Refusal when buffer and spool are full; retriable (the caller may try again later). */
export class BufferFullError extends UnavailableError {}

/** Options of {@link DurableProducer}. */
export interface DurableProducerOptions {
  readonly inner: TransportProducer;
  /** In-memory buffer bound (bytes of message values and keys); default 64 MiB. */
  readonly maxBufferBytes?: number;
  /** Directory of the disk spool; none = memory only. */
  readonly spoolDir?: string;
  /** Disk spool bound; default 1 GiB. */
  readonly maxSpoolBytes?: number;
  /** Backoff between failed deliveries; defaults 200 ms → 30 s. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Messages per delivery call; default 200. */
  readonly maxBatch?: number;
  readonly random?: () => number;
  /**
   * Disconnect the real producer after this long without anything to deliver, and
   * reconnect on the next message; 0 = stay connected. A collector exporting every
   * 15 s pays one reconnection per export instead of kafkajs 2.2.4's idle cost: its
   * request queue re-arms a 1 ms timer forever once connected (kafkajs issues
   * #1556/#1704), about 2 % of a core measured here.
   */
  readonly idleDisconnectMs?: number;
  /** Called on each failed delivery (logging). */
  readonly onError?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** What the producer holds and did. */
export interface DurableProducerStats {
  readonly bufferedMessages: number;
  readonly bufferedBytes: number;
  readonly spooledMessages: number;
  readonly spooledBytes: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly failedAttempts: number;
  readonly lastError: string | null;
  /** Bytes of the messages delivered, and what was sent for them after compression; 0 when the transport does not say. */
  readonly messageBytes: number;
  readonly sentBytes: number;
}

interface Entry {
  readonly topic: string;
  readonly message: OutgoingMessage;
  readonly bytes: number;
}

const selfMetrics = (() => {
  const m = selfMeter('vigie.collectors');
  return {
    dropped: m.createCounter('collectors.producer.dropped', { description: 'Messages refused because buffer and spool were full' }),
    failures: m.createCounter('collectors.producer.delivery_failures', { description: 'Failed deliveries to the transport (retried)' }),
    delivered: m.createCounter('collectors.producer.delivered', { description: 'Messages acknowledged by the transport' }),
    buffered: m.createObservableGauge('collectors.producer.buffered_bytes', { description: 'Bytes waiting in memory and spool', unit: 'By' }),
    bytes: m.createObservableCounter('collectors.producer.bytes', {
      description: 'Bytes delivered: stage=messages before compression, stage=compressed as sent to Kafka',
      unit: 'By',
    }),
  };
})();
const live = new Set<DurableProducer>();
selfMetrics.buffered.addCallback((r) => {
  for (const p of live) {
    const s = p.stats();
    r.observe(s.bufferedBytes, { where: 'memory' });
    r.observe(s.spooledBytes, { where: 'spool' });
  }
});
selfMetrics.bytes.addCallback((r) => {
  for (const p of live) {
    const s = p.stats();
    r.observe(s.messageBytes, { stage: 'messages' });
    r.observe(s.sentBytes, { stage: 'compressed' });
  }
});

const entrySize = (m: OutgoingMessage): number => m.value.byteLength + m.key.length + 64;

/** See the module comment. `connect()` never fails for an unreachable broker: delivery retries. */
export class DurableProducer implements TransportProducer {
  private readonly opts: DurableProducerOptions;
  private readonly memory: Entry[] = [];
  private memoryBytes = 0;
  /** Spool file names, oldest first. */
  private readonly spool: { file: string; bytes: number }[] = [];
  private spoolBytes = 0;
  private spoolSeq = 0;
  private s = { delivered: 0, dropped: 0, failedAttempts: 0, lastError: null as string | null };
  private running = false;
  private connected = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private sleepTimer: NodeJS.Timeout | null = null;
  private interruptSleep: (() => void) | null = null;

  constructor(opts: DurableProducerOptions) {
    this.opts = opts;
    if (opts.spoolDir !== undefined) {
      mkdirSync(opts.spoolDir, { recursive: true });
      for (const f of readdirSync(opts.spoolDir).filter((n) => /^\d{16}\.msg$/.test(n)).sort()) {
        const bytes = statSync(join(opts.spoolDir, f)).size;
        this.spool.push({ file: f, bytes });
        this.spoolBytes += bytes;
        this.spoolSeq = Math.max(this.spoolSeq, Number(f.slice(0, 16)) + 1);
      }
    }
  }

  /** Starts the delivery loop; the broker may still be down. */
  async connect(): Promise<void> {
    if (this.running) return;
    this.running = true;
    live.add(this);
    this.loop = this.deliverLoop();
  }

  /** Accepts messages for delivery; throws `BufferFullError` (and counts drops) when there is no room. */
  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    const maxMem = this.opts.maxBufferBytes ?? 64 * 1024 * 1024;
    const need = messages.reduce((n, m) => n + entrySize(m), 0);
    // Keep order: once something is spooled, newer messages queue behind it on disk.
    if (this.spool.length === 0 && this.memoryBytes + need <= maxMem) {
      for (const message of messages) this.memory.push({ topic, message, bytes: entrySize(message) });
      this.memoryBytes += need;
    } else if (this.opts.spoolDir !== undefined && this.spoolBytes + need <= (this.opts.maxSpoolBytes ?? 1024 ** 3)) {
      for (const message of messages) this.writeSpool({ topic, message, bytes: entrySize(message) });
    } else {
      this.s.dropped += messages.length;
      selfMetrics.dropped.add(messages.length);
      throw new BufferFullError(
        `producer buffer full (${this.memoryBytes} B in memory, ${this.spoolBytes} B spooled${this.opts.spoolDir ? ` in ${this.opts.spoolDir}` : ', no spool configured'}); ` +
          `${messages.length} message(s) to ${topic} refused. Last delivery error: ${this.s.lastError ?? 'none'}`,
      );
    }
    this.wake?.();
  }

  /** Resolves when everything accepted so far is delivered, or after `timeoutMs` (then false). */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    if (this.pending() === 0) return true;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Delivers what it can within `timeoutMs`, spools the rest (if a spool is set), then disconnects. */
  async disconnect(timeoutMs = 10_000): Promise<void> {
    await this.flush(timeoutMs);
    this.running = false;
    this.interruptSleep?.();
    this.wake?.();
    // A delivery stuck on an unreachable broker must not hold the exit: its batch is
    // still in memory and goes to the spool below (a late ack would make a duplicate,
    // never a loss).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, Math.min(timeoutMs, 2_000))))]);
    clearTimeout(timer);
    if (this.opts.spoolDir !== undefined) {
      const rest = this.memory.splice(0);
      this.memoryBytes = 0;
      // Older than anything spooled: give them lower sequence numbers is impossible, so
      // they go first by writing the spool anew in order.
      const old = this.spool.splice(0).map((s) => s.file);
      this.spoolBytes = 0;
      const oldEntries = old.map((f) => this.readSpool(f));
      for (const e of [...rest, ...oldEntries]) this.writeSpool(e);
      for (const f of old) unlinkSync(join(this.opts.spoolDir, f));
    } else if (this.memory.length > 0) {
      this.s.dropped += this.memory.length;
      selfMetrics.dropped.add(this.memory.length);
    }
    live.delete(this);
    if (this.connected) await this.opts.inner.disconnect().catch(() => undefined);
  }

  /** Snapshot of the counters. */
  stats(): DurableProducerStats {
    return {
      bufferedMessages: this.memory.length,
      bufferedBytes: this.memoryBytes,
      spooledMessages: this.spool.length,
      spooledBytes: this.spoolBytes,
      ...this.s,
      messageBytes: this.opts.inner.byteCounts?.().messageBytes ?? 0,
      sentBytes: this.opts.inner.byteCounts?.().sentBytes ?? 0,
    };
  }

  byteCounts(): { messageBytes: number; sentBytes: number } {
    const s = this.stats();
    return { messageBytes: s.messageBytes, sentBytes: s.sentBytes };
  }

  private pending(): number {
    return this.memory.length + this.spool.length;
  }

  private writeSpool(e: Entry): void {
    const dir = this.opts.spoolDir!;
    const file = `${String(this.spoolSeq++).padStart(16, '0')}.msg`;
    const enc = new TextEncoder();
    const topic = enc.encode(e.topic);
    const key = enc.encode(e.message.key);
    const headers = enc.encode(JSON.stringify(e.message.headers ?? {}));
    const head = Buffer.alloc(12);
    head.writeUInt32BE(topic.length, 0);
    head.writeUInt32BE(key.length, 4);
    head.writeUInt32BE(headers.length, 8);
    const body = Buffer.concat([head, topic, key, headers, e.message.value]);
    const tmp = join(dir, `${file}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, file));
    this.spool.push({ file, bytes: body.length });
    this.spoolBytes += body.length;
  }

  private readSpool(file: string): Entry {
    const b = readFileSync(join(this.opts.spoolDir!, file));
    const tl = b.readUInt32BE(0);
    const kl = b.readUInt32BE(4);
    const hl = b.readUInt32BE(8);
    let o = 12;
    const topic = b.subarray(o, (o += tl)).toString();
    const key = b.subarray(o, (o += kl)).toString();
    const headers = JSON.parse(b.subarray(o, (o += hl)).toString()) as Record<string, string>;
    const value = new Uint8Array(b.subarray(o));
    const message: OutgoingMessage = Object.keys(headers).length > 0 ? { key, value, headers } : { key, value };
    return { topic, message, bytes: entrySize(message) };
  }

  private async deliverLoop(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      // Next batch: memory first (older), then the spool's oldest files.
      let batch: Entry[];
      let fromSpool: string[] = [];
      if (this.memory.length > 0) {
        const topic = this.memory[0]!.topic;
        let n = 0;
        while (n < this.memory.length && n < (this.opts.maxBatch ?? 200) && this.memory[n]!.topic === topic) n++;
        batch = this.memory.slice(0, n);
      } else if (this.spool.length > 0) {
        fromSpool = this.spool.slice(0, Math.min(this.spool.length, 50)).map((s) => s.file);
        batch = fromSpool.map((f) => this.readSpool(f));
        const topic = batch[0]!.topic;
        const n = batch.findIndex((e) => e.topic !== topic);
        if (n > 0) {
          batch = batch.slice(0, n);
          fromSpool = fromSpool.slice(0, n);
        }
      } else {
        for (const w of this.idleWaiters.splice(0)) w();
        const idleMs = this.opts.idleDisconnectMs ?? 0;
        let idleTimer: NodeJS.Timeout | undefined;
        const woke = await new Promise<boolean>((r) => {
          this.wake = () => r(true);
          if (idleMs > 0 && this.connected) idleTimer = setTimeout(() => r(false), idleMs);
        });
        clearTimeout(idleTimer);
        this.wake = null;
        if (!woke && this.connected && this.pending() === 0) {
          this.connected = false;
          await this.opts.inner.disconnect().catch(() => undefined);
        }
        continue;
      }
      try {
        if (!this.connected) {
          await this.opts.inner.connect();
          this.connected = true;
        }
        await this.opts.inner.send(batch[0]!.topic, batch.map((e) => e.message));
        attempt = 0;
        if (fromSpool.length > 0) {
          for (const f of fromSpool) unlinkSync(join(this.opts.spoolDir!, f));
          const gone = this.spool.splice(0, fromSpool.length);
          this.spoolBytes -= gone.reduce((n, s) => n + s.bytes, 0);
        } else {
          this.memory.splice(0, batch.length);
          this.memoryBytes -= batch.reduce((n, e) => n + e.bytes, 0);
        }
        this.s.delivered += batch.length;
        selfMetrics.delivered.add(batch.length);
      } catch (err) {
        this.s.failedAttempts++;
        selfMetrics.failures.add(1);
        this.s.lastError = describeError(err);
        const delay = backoffDelay(attempt, this.opts.retryInitialMs ?? 200, this.opts.retryMaxMs ?? 30_000, 2, this.opts.random);
        attempt++;
        this.opts.onError?.(err, attempt, delay);
        // New sends do not cut the backoff short; only disconnect() does.
        await new Promise<void>((r) => {
          this.interruptSleep = r;
          this.sleepTimer = setTimeout(r, delay);
        });
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.interruptSleep = null;
      }
    }
  }
}
