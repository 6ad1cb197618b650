/**
 * The durable outbox between the router and the receivers. `enqueue` journals entries
 * (fsync) before anything is sent and refuses ids already pending or delivered;
 * `tick(now)` starts the attempts that are due — oldest first per ordering key, at most
 * `concurrency` at a time — and records each outcome in the journal:
 *
 * - success → `done/delivered`;
 * - retriable failure (network, 5xx, 408, 429) → next attempt after a jittered backoff
 *   (core/retry `backoffDelay`) or the server's Retry-After, whichever is later;
 * - non-retriable failure (other 4xx, SMTP 5xx) → `done/rejected`, reported;
 * - older than `maxAgeMs` → `done/undeliverable`, reported.
 *
 * Reported means: a log line, the `alerts.outbox.undeliverable` counter, and a notice
 * to the fallback receiver — never a silent drop. No timers here: the scheduler in
 * `pager.ts` calls `tick`; the clock is injected.
 */
import { metrics, type Attributes, type ObservableResult } from '@opentelemetry/api';
import type { Clock } from '../../core/clock.ts';
import { describeError, VigieError } from '../../core/errors.ts';
import { backoffDelay } from '../../core/retry.ts';
import { ReceiverError } from '../receivers/http.ts';
import type { OutboxMessage } from '../receivers/types.ts';
import { openJournal, type Journal, type JournalRecord, type Outcome, type OutboxEntry } from './journal.ts';

/** A notification to journal and send. */
export interface OutboxItem {
  readonly id: string;
  readonly receiver: string;
  readonly key: string;
  readonly message: OutboxMessage;
}

/** Sends one entry; throws (ideally a ReceiverError) on failure. */
export type DeliverFn = (entry: OutboxEntry, now: number) => Promise<void>;

/** Options of {@link createOutbox}. */
export interface OutboxOptions {
  readonly dir: string;
  readonly clock: Clock;
  readonly deliver: DeliverFn;
  /** Give up after this long (default 1 h). */
  readonly maxAgeMs?: number;
  /** Forget delivered ids after this long (default 24 h); re-enqueueing them before is refused. */
  readonly dedupWindowMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly concurrency?: number;
  /** Receiver that gets notices of undeliverable notifications (never for its own). */
  readonly fallbackReceiver?: string;
  readonly random?: () => number;
  readonly log?: (line: string) => void;
}

/** Counters of one outbox. */
export interface OutboxStats {
  readonly depth: number;
  readonly inFlight: number;
  readonly enqueued: number;
  readonly delivered: number;
  readonly retried: number;
  readonly undeliverable: number;
  readonly rejected: number;
  readonly duplicatesRefused: number;
  readonly journalSkippedLines: number;
}

/** The outbox runtime. */
export interface Outbox {
  /** Journals new items (one fsync); returns how many were new. */
  enqueue(items: readonly OutboxItem[]): number;
  /** Starts due attempts; resolves when they have settled. */
  tick(now: number): Promise<void>;
  /** Like tick, but also says how many attempts it started (the scheduler re-runs only when some did). */
  run(now: number): { readonly started: number; readonly settled: Promise<void> };
  /** True if an entry with this ordering key waits or is in flight. */
  hasPending(key: string): boolean;
  /** Earliest nextAttemptAt among entries not in flight. */
  nextDueAt(): number | undefined;
  /** Waits for attempts in flight. */
  idle(): Promise<void>;
  /** Rewrites the journal (drops finished entries and expired delivered ids). */
  compact(now: number): void;
  pending(): OutboxEntry[];
  stats(): OutboxStats;
  close(): void;
}

/** Opens the outbox in `dir`, replaying (and compacting) its journal: pending entries will be re-sent. */
export function createOutbox(opts: OutboxOptions): Outbox {
  const maxAge = opts.maxAgeMs ?? 3600_000;
  const dedupWindow = opts.dedupWindowMs ?? 24 * 3600_000;
  const initial = opts.backoffInitialMs ?? 1000;
  const max = opts.backoffMaxMs ?? 5 * 60_000;
  const concurrency = opts.concurrency ?? 4;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const journal: Journal = openJournal(opts.dir);
  const state = journal.load();
  const pending = state.pending;
  const done = state.done;
  const inFlight = new Map<string, Promise<void>>();
  let seq = 0;
  const order = new Map<string, number>();
  const seenReceivers = new Set<string>();
  for (const e of [...pending.values()].sort((a, b) => a.createdAt - b.createdAt)) order.set(e.id, seq++);
  for (const e of pending.values()) seenReceivers.add(e.receiver);
  const counts = { enqueued: 0, delivered: 0, retried: 0, undeliverable: 0, rejected: 0, duplicatesRefused: 0 };
  if (state.skippedLines > 0) log(`vigie: outbox journal ${journal.path}: skipped ${state.skippedLines} unreadable line(s) (torn write after a crash?)`);

  const meter = metrics.getMeter('vigie.alerts');
  const retriedCounter = meter.createCounter('alerts.outbox.retried', { description: 'Delivery attempts that failed and were scheduled again' });
  const deliveredCounter = meter.createCounter('alerts.outbox.delivered', { description: 'Notifications delivered to a receiver' });
  const undeliverableCounter = meter.createCounter('alerts.outbox.undeliverable', { description: 'Notifications given up (too old or refused by the receiver)' });
  const depthGauge = meter.createObservableGauge('alerts.outbox.depth', { description: 'Notifications waiting in the outbox' });
  // Every receiver ever seen is reported, with 0 when empty: the SDK keeps the last
  // value of an attribute set that is no longer observed.
  const observeDepth = (r: ObservableResult<Attributes>) => {
    const by = new Map<string, number>([...seenReceivers].map((n) => [n, 0]));
    for (const e of pending.values()) by.set(e.receiver, (by.get(e.receiver) ?? 0) + 1);
    for (const [receiver, n] of by) r.observe(n, { receiver });
  };
  depthGauge.addCallback(observeDepth);

  const finish = (e: OutboxEntry, outcome: Outcome, at: number) => {
    pending.delete(e.id);
    order.delete(e.id);
    done.set(e.id, { at, outcome });
    journal.append([{ t: 'done', id: e.id, at, outcome }]);
  };

  const report = (e: OutboxEntry, outcome: 'undeliverable' | 'rejected', reason: string, now: number) => {
    finish(e, outcome, now);
    if (outcome === 'rejected') counts.rejected++;
    else counts.undeliverable++;
    undeliverableCounter.add(1, { receiver: e.receiver, reason: outcome });
    const alerts = e.message.alerts.map((a) => `${a.labels['alertname'] ?? '?'}{${Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(',')}} ${a.status}`).join('; ');
    log(`vigie: alerts.outbox.undeliverable receiver=${e.receiver} id=${e.id} attempts=${e.attempts} outcome=${outcome}: ${reason} — alerts: ${alerts}`);
    const fb = opts.fallbackReceiver;
    if (fb && fb !== e.receiver && !e.message.undeliverable) {
      outbox.enqueue([{ id: `fallback-${e.id}`, receiver: fb, key: `${fb}|fallback`, message: { ...e.message, undeliverable: { receiver: e.receiver, reason: reason.slice(0, 500) } } }]);
    } else if (fb) {
      log(`vigie: no fallback left for ${e.id}: the fallback receiver ${fb} itself failed`);
    }
  };

  let closed = false;

  async function attempt(e: OutboxEntry, now: number): Promise<void> {
    try {
      await opts.deliver(e, now);
    } catch (err) {
      // Closed while this attempt ran: leave the entry pending on disk; the next start re-sends it.
      if (closed) return;
      const at = opts.clock();
      e.attempts++;
      const retriable = err instanceof VigieError ? err.retriable : true;
      const reason = describeError(err).split('\n')[0]!;
      if (!retriable) {
        report(e, 'rejected', reason, at);
        return;
      }
      const hint = err instanceof ReceiverError ? err.retryAfterMs : undefined;
      const delay = Math.max(hint ?? 0, backoffDelay(e.attempts - 1, initial, max, 2, opts.random));
      if (at - e.createdAt >= maxAge) {
        report(e, 'undeliverable', `still failing after ${Math.round((at - e.createdAt) / 1000)} s and ${e.attempts} attempts: ${reason}`, at);
        return;
      }
      e.nextAttemptAt = at + delay;
      // Said once per notification when it starts failing, not only when max_age gives up on it.
      if (e.attempts === 1) log(`vigie: alerts.outbox.retrying receiver=${e.receiver} id=${e.id}: ${reason}; retrying until ${Math.round(maxAge / 60_000)} min old`);
      e.lastError = reason;
      counts.retried++;
      retriedCounter.add(1, { receiver: e.receiver });
      journal.append([{ t: 'att', id: e.id, attempts: e.attempts, nextAttemptAt: e.nextAttemptAt, error: reason }]);
      return;
    }
    if (closed) return;
    finish(e, 'delivered', opts.clock());
    counts.delivered++;
    deliveredCounter.add(1, { receiver: e.receiver });
  }

  /** Entries at the head of their key's queue, oldest first. */
  function heads(): OutboxEntry[] {
    const byKey = new Map<string, OutboxEntry>();
    for (const e of pending.values()) {
      const cur = byKey.get(e.key);
      if (!cur || order.get(e.id)! < order.get(cur.id)!) byKey.set(e.key, e);
    }
    return [...byKey.values()].sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }

  const outbox: Outbox = {
    enqueue(items) {
      if (closed) throw new VigieError('the outbox is closed; nothing can be journaled after stop()');
      const now = opts.clock();
      const records: JournalRecord[] = [];
      const fresh: OutboxEntry[] = [];
      for (const it of items) {
        if (pending.has(it.id) || done.has(it.id) || fresh.some((f) => f.id === it.id)) {
          counts.duplicatesRefused++;
          continue;
        }
        const e: OutboxEntry = { id: it.id, receiver: it.receiver, key: it.key, message: it.message, createdAt: now, attempts: 0, nextAttemptAt: now };
        fresh.push(e);
        records.push({ t: 'enq', ...e });
      }
      journal.append(records);
      for (const e of fresh) {
        seenReceivers.add(e.receiver);
        pending.set(e.id, e);
        order.set(e.id, seq++);
      }
      counts.enqueued += fresh.length;
      return fresh.length;
    },
    tick(now) {
      return outbox.run(now).settled;
    },
    run(now) {
      const started: Promise<void>[] = [];
      if (closed) return { started: 0, settled: Promise.resolve() };
      for (const e of heads()) {
        if (inFlight.size >= concurrency) break;
        if (inFlight.has(e.id)) continue;
        if (now - e.createdAt >= maxAge) {
          report(e, 'undeliverable', `not delivered within ${Math.round(maxAge / 60_000)} min (${e.attempts} attempts; last error: ${e.lastError ?? 'none'})`, now);
          continue;
        }
        if (e.nextAttemptAt > now) continue;
        const p = attempt(e, now).finally(() => inFlight.delete(e.id));
        inFlight.set(e.id, p);
        started.push(p);
      }
      return { started: started.length, settled: Promise.all(started).then(() => undefined) };
    },
    hasPending(key) {
      for (const e of pending.values()) if (e.key === key) return true;
      return false;
    },
    nextDueAt() {
      let next: number | undefined;
      for (const e of heads()) {
        if (inFlight.has(e.id)) continue;
        const t = Math.min(e.nextAttemptAt, e.createdAt + maxAge);
        next = next === undefined ? t : Math.min(next, t);
      }
      return next;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },
    compact(now) {
      for (const [id, d] of done) if (now - d.at >= dedupWindow) done.delete(id);
      journal.compact(
        [...pending.values()].sort((a, b) => order.get(a.id)! - order.get(b.id)!),
        done,
      );
    },
    pending: () => [...pending.values()],
    stats: () => ({ depth: pending.size, inFlight: inFlight.size, ...counts, journalSkippedLines: state.skippedLines }),
    close() {
      if (closed) return;
      closed = true;
      depthGauge.removeCallback(observeDepth);
      journal.close();
    },
  };
  outbox.compact(opts.clock());
  return outbox;
}
