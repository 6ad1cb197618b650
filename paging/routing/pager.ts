/**
 * The pager: the one function the CLI plugs into the rules engine's `notify` seam.
 * engine alert set → router (hold-down, silences, inhibition, routes, groups) →
 * durable outbox (journal, retries, max age, fallback) → receivers (Alertmanager,
 * PagerDuty, Slack-compatible, webhook, mail).
 *
 * `notify` only journals (it returns once the notifications are on disk); delivery
 * happens in `tick(now)`, which `start()` runs from a timer and after each notify.
 * The work is all in `tick`; the timers only call it, with the injected clock's time.
 */
import type { Clock } from '../../core/clock.ts';
import { describeError, VigieError } from '../../core/errors.ts';
import type { MailTransport } from '../receivers/email.ts';
import { buildReceiver } from '../receivers/receivers.ts';
import type { NotifyFn, Receiver, ReceiverTraits } from '../receivers/types.ts';
import { createOutbox, type OutboxStats } from '../outbox/outbox.ts';
import type { PagingConfig } from './config.ts';
import { resolveRoute } from './route.ts';
import { createRouter, type Dispatch, type RouterStats } from './router.ts';
import { createSilenceIndex } from './silences.ts';

/** Options of {@link createPager}. */
export interface PagerOptions {
  readonly config: PagingConfig;
  /** Directory of the outbox journal (e.g. `.vigie/outbox`). */
  readonly journalDir: string;
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
  readonly log?: (line: string) => void;
  /** Grafana base URL for dashboard links in pages. */
  readonly dashboardUrl?: string;
  /** Runbook base for alerts without a `runbook_url` annotation. */
  readonly runbookUrl?: string;
  /** Replaces the SMTP transport of mail receivers (tests). */
  readonly mailTransport?: (receiver: string) => MailTransport | undefined;
  /** Extra receivers built by the caller (override config receivers of the same name). */
  readonly receivers?: readonly Receiver[];
  /** How often the scheduler calls tick (real ms, default 250). */
  readonly pollIntervalMs?: number;
  /** How long stop() waits for deliveries in flight (real ms, default 5000). */
  readonly stopTimeoutMs?: number;
  readonly random?: () => number;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Pager statistics. */
export interface PagerStats extends OutboxStats {
  readonly router: RouterStats;
  readonly receivers: readonly string[];
  readonly lastError?: string;
}

/** The pager runtime. */
export interface Pager {
  /** The engine's notify seam: routes the current alert set and journals what must be sent. */
  readonly notify: NotifyFn;
  /** Runs group timers and due deliveries at `now`; resolves when the attempts it started have settled. */
  tick(now: number): Promise<void>;
  /** Starts the scheduler (timer + a tick after each notify) and periodic journal compaction. */
  start(): void;
  /** Stops the scheduler, makes one last delivery pass, waits for it (bounded), compacts and closes. */
  stop(): Promise<void>;
  stats(): PagerStats;
}

/** Builds the pager from the `paging:` config. Opens (and compacts) the journal at once. */
export function createPager(opts: PagerOptions): Pager {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const cfg = opts.config;
  const receivers = new Map<string, Receiver>();
  for (const rc of cfg.receivers) {
    receivers.set(
      rc.name,
      buildReceiver(rc, {
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        timeoutMs: cfg.outbox.timeout,
        ...(opts.dashboardUrl ? { dashboardUrl: opts.dashboardUrl } : {}),
        ...(opts.runbookUrl ? { runbookUrl: opts.runbookUrl } : {}),
        ...(opts.mailTransport ? { mailTransport: opts.mailTransport } : {}),
        ...(opts.env ? { env: opts.env } : {}),
      }),
    );
  }
  for (const r of opts.receivers ?? []) receivers.set(r.name, r);
  const traits = new Map<string, ReceiverTraits>([...receivers].map(([n, r]) => [n, r.traits]));
  const firstReceiver = cfg.receivers[0]?.name ?? opts.receivers?.[0]?.name ?? '';
  const router = createRouter({
    route: resolveRoute(cfg.route, firstReceiver),
    receivers: traits,
    inhibitRules: cfg.inhibit_rules,
    resolveHoldMs: cfg.resolve_hold,
    silences: createSilenceIndex(cfg.silences_file),
  });
  const outbox = createOutbox({
    dir: opts.journalDir,
    clock: opts.clock,
    maxAgeMs: cfg.outbox.max_age,
    dedupWindowMs: cfg.outbox.dedup_window,
    backoffInitialMs: cfg.outbox.backoff_initial,
    backoffMaxMs: cfg.outbox.backoff_max,
    concurrency: cfg.outbox.concurrency,
    ...(cfg.outbox.fallback ? { fallbackReceiver: cfg.outbox.fallback } : {}),
    ...(opts.random ? { random: opts.random } : {}),
    log,
    deliver: async (entry, now) => {
      const r = receivers.get(entry.receiver);
      if (!r) throw new VigieError(`receiver ${entry.receiver} is no longer configured (the entry was journaled before a config change)`);
      await r.send(entry.message, { idempotencyKey: entry.id, now });
    },
  });

  let lastError: string | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let compactTimer: ReturnType<typeof setInterval> | undefined;
  let stopped = false;

  const enqueue = (ds: readonly Dispatch[]) => {
    // A keep-alive re-send to Alertmanager is pointless while an earlier one for the same alert still waits.
    const fresh = ds.filter((d) => !(d.message.repeat !== undefined && traits.get(d.receiver)?.raw && outbox.hasPending(d.key)));
    if (fresh.length) outbox.enqueue(fresh);
  };

  /** The work of one tick; returns the attempts it started. */
  const step = (now: number): { readonly started: number; readonly settled: Promise<void> } => {
    enqueue(router.tick(now));
    return outbox.run(now);
  };

  let kicking = false;
  const kick = (): void => {
    if (timer === undefined || kicking) return;
    kicking = true;
    try {
      const attempts = step(opts.clock());
      // When an attempt settles, the next entry of its key may be due: look again.
      if (attempts.started > 0) {
        attempts.settled.then(
          () => setImmediate(kick),
          (e: unknown) => {
            lastError = describeError(e);
            log(`vigie: pager tick failed: ${lastError}`);
          },
        );
      }
    } catch (e) {
      lastError = describeError(e);
      log(`vigie: pager tick failed: ${lastError}`);
    } finally {
      kicking = false;
    }
  };

  return {
    notify: async (alerts) => {
      if (stopped) throw new VigieError('the pager is stopped; notifications after stop() are not journaled');
      enqueue(router.observe(alerts, opts.clock()));
      if (timer !== undefined) setImmediate(kick);
    },
    tick: (now) => step(now).settled,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(kick, opts.pollIntervalMs ?? 250);
      compactTimer = setInterval(() => {
        try {
          outbox.compact(opts.clock());
        } catch (e) {
          lastError = describeError(e);
          log(`vigie: outbox compaction failed: ${lastError}`);
        }
      }, cfg.outbox.compact_interval);
      timer.unref?.();
      compactTimer.unref?.();
      setImmediate(kick);
    },
    async stop() {
      if (stopped) return;
      const wasRunning = timer !== undefined;
      if (timer) clearInterval(timer);
      if (compactTimer) clearInterval(compactTimer);
      timer = undefined;
      compactTimer = undefined;
      stopped = true;
      const last = wasRunning ? step(opts.clock()).settled.catch(() => undefined) : Promise.resolve();
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all([last, outbox.idle()]), new Promise<void>((r) => (t = setTimeout(r, opts.stopTimeoutMs ?? 5000)))]);
      if (t) clearTimeout(t);
      outbox.compact(opts.clock());
      outbox.close();
      for (const r of receivers.values()) await r.close?.().catch(() => undefined);
    },
    stats: () => ({ ...outbox.stats(), router: router.stats(), receivers: [...receivers.keys()], ...(lastError !== undefined ? { lastError } : {}) }),
  };
}
