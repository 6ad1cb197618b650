/**
 * The no-flood logic between the engine's alert set and the outbox, pure and driven by
 * the caller's clock (`observe(alerts, now)`, `tick(now)` → dispatches):
 *
 * 1. Episodes and resolve hold-down (all receivers): a resolved alert counts as still
 *    firing until it has stayed resolved for `resolve_hold`; if it fires again in the
 *    meantime, it is the same episode (same startsAt). A signal flapping every 30 s
 *    is therefore one page and, once quiet, one resolve.
 * 2. Silences and inhibition (direct receivers only; Alertmanager does its own).
 * 3. Routing, then grouping per route and group labels with `group_wait`,
 *    `group_interval`, `repeat_interval` as Alertmanager's dispatcher does, for direct
 *    receivers. Alertmanager receivers get every alert raw, re-sent while firing.
 *
 * Output: {@link Dispatch} records with an idempotency id derived from (receiver,
 * alert fingerprint, status, startsAt, endsAt) so a re-run after a crash yields the
 * same ids and the outbox can refuse what it already delivered.
 */
import { createHash } from 'node:crypto';
import type { Notification, OutboxMessage, ReceiverTraits } from '../receivers/types.ts';
import type { InhibitRule } from './config.ts';
import { inhibitedFingerprints } from './inhibit.ts';
import { groupLabels, matchRoutes, type ResolvedRoute } from './route.ts';
import type { SilenceIndex } from './silences.ts';

/** One message for one receiver, ready for the outbox. */
export interface Dispatch {
  /** Idempotency key. */
  readonly id: string;
  readonly receiver: string;
  /** Ordering key: entries with the same key are delivered one after another, oldest first. */
  readonly key: string;
  readonly message: OutboxMessage;
}

/** Options of {@link createRouter}. */
export interface RouterOptions {
  readonly route: ResolvedRoute;
  readonly receivers: ReadonlyMap<string, ReceiverTraits>;
  readonly inhibitRules: readonly InhibitRule[];
  readonly resolveHoldMs: number;
  readonly silences?: SilenceIndex;
  /** How long a resolved episode is remembered after the engine stops reporting it. Default 15 min. */
  readonly resolvedRetentionMs?: number;
}

/** Counters and sizes, for stats() and tests. */
export interface RouterStats {
  readonly episodes: number;
  readonly groups: number;
  readonly silenced: number;
  readonly inhibited: number;
  readonly held: number;
}

/** The router. */
export interface Router {
  /** Takes the engine's full current set at `now`; returns what became due at once. */
  observe(alerts: readonly Notification[], now: number): Dispatch[];
  /** Returns what became due by `now` (group timers, hold-down expiry, re-sends). */
  tick(now: number): Dispatch[];
  /** Earliest time something may become due, for the scheduler (undefined: nothing pending). */
  nextDueAt(): number | undefined;
  stats(): RouterStats;
}

interface Episode {
  startsAt: number;
  status: 'firing' | 'holding' | 'resolved';
  resolvedAt?: number;
  last: Notification;
  /** When the engine last reported it (resolved episodes are forgotten some time after). */
  seenAt: number;
}

interface Group {
  readonly key: string;
  readonly route: ResolvedRoute;
  readonly labels: Record<string, string>;
  alerts: Map<string, Notification>;
  nextFlushAt: number;
  /** fingerprint → `status@startsAt` as last sent. */
  lastSent: Map<string, string>;
  lastSentAt: number;
  repeat: number;
}

interface RawState {
  status: 'firing' | 'resolved';
  startsAt: number;
  /** Resend slot last sent: floor((now − startsAt) / resend interval). */
  slot: number;
}

/** Idempotency / ordering ids: 32 hex digits of SHA-256 over the parts. */
export function idOf(...parts: readonly (string | number | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

const state = (a: Notification) => `${a.status}@${a.startsAt}@${a.endsAt ?? ''}`;

/** Creates a router. */
export function createRouter(opts: RouterOptions): Router {
  const retention = opts.resolvedRetentionMs ?? 15 * 60_000;
  const episodes = new Map<string, Episode>();
  const groups = new Map<string, Group>();
  const raw = new Map<string, RawState>();
  let silenced = 0;
  let inhibited = 0;

  function effective(now: number): Notification[] {
    const out: Notification[] = [];
    for (const [fp, ep] of episodes) {
      if (ep.status === 'holding' && now - ep.resolvedAt! >= opts.resolveHoldMs) ep.status = 'resolved';
      if (ep.status === 'resolved') {
        if (now - ep.seenAt >= retention) {
          episodes.delete(fp);
          continue;
        }
        const { endsAt: _e, ...rest } = ep.last;
        out.push({ ...rest, status: 'resolved', startsAt: ep.startsAt, endsAt: ep.resolvedAt! });
      } else {
        const { endsAt: _e, ...rest } = ep.last;
        out.push({ ...rest, status: 'firing', startsAt: ep.startsAt });
      }
    }
    return out;
  }

  function update(alerts: readonly Notification[], now: number): void {
    const present = new Set<string>();
    for (const a of alerts) {
      present.add(a.fingerprint);
      const ep = episodes.get(a.fingerprint);
      if (a.status === 'firing') {
        if (!ep || ep.status === 'resolved') {
          episodes.set(a.fingerprint, { startsAt: a.startsAt, status: 'firing', last: a, seenAt: now });
        } else {
          ep.status = 'firing';
          delete ep.resolvedAt;
          ep.last = a;
          ep.seenAt = now;
        }
      } else {
        if (!ep) {
          // Seen resolved first (e.g. after a restart): hold it like any other resolve.
          episodes.set(a.fingerprint, { startsAt: a.startsAt, status: 'holding', resolvedAt: a.endsAt ?? now, last: a, seenAt: now });
        } else {
          if (ep.status === 'firing') {
            ep.status = 'holding';
            ep.resolvedAt = a.endsAt ?? now;
          }
          ep.seenAt = now;
        }
      }
    }
    for (const [fp, ep] of episodes) {
      if (present.has(fp)) continue;
      // Gone from the engine's set without a resolve (e.g. resolved long ago): treat as resolved now.
      if (ep.status === 'firing') {
        ep.status = 'holding';
        ep.resolvedAt = now;
        ep.seenAt = now;
      }
    }
  }

  function dispatchRaw(receiver: string, traits: ReceiverTraits, a: Notification, now: number, out: Dispatch[]): void {
    const rk = `${receiver}|${a.fingerprint}`;
    const prev = raw.get(rk);
    const changed = !prev || prev.status !== a.status || prev.startsAt !== a.startsAt;
    // Re-sends are numbered by resend slot since startsAt, not by a counter: after a
    // restart the ids of slots already sent are refused by the outbox, later ones are new.
    const resend = traits.resendIntervalMs ?? 60_000;
    const slot = a.status === 'firing' ? Math.max(0, Math.floor((now - a.startsAt) / resend)) : 0;
    if (!changed && !(a.status === 'firing' && slot > prev.slot)) return;
    raw.set(rk, { status: a.status, startsAt: a.startsAt, slot });
    out.push({
      id: idOf(receiver, a.fingerprint, a.status, a.startsAt, a.endsAt, slot),
      receiver,
      key: rk,
      message: { groupKey: a.fingerprint, groupLabels: {}, status: a.status, alerts: [a], ...(changed ? {} : { repeat: slot }) },
    });
  }

  function flush(g: Group, now: number, out: Dispatch[]): void {
    const traits = opts.receivers.get(g.route.receiver)!;
    // Resolved alerts never paged as firing in this group stay quiet (fired and cleared within group_wait).
    for (const [fp, a] of g.alerts) if (a.status === 'resolved' && g.lastSent.get(fp) !== `firing@${a.startsAt}`) g.alerts.delete(fp);
    const current = [...g.alerts.values()].sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1));
    const firing = current.filter((a) => a.status === 'firing');
    const changedAlerts = current.filter((a) => g.lastSent.get(a.fingerprint) !== `${a.status}@${a.startsAt}`);
    const repeatDue = changedAlerts.length === 0 && firing.length > 0 && now - g.lastSentAt >= g.route.repeatIntervalMs;
    if (current.length > 0 && (changedAlerts.length > 0 || repeatDue)) {
      const status = firing.length > 0 ? 'firing' : 'resolved';
      if (traits.granularity === 'alert') {
        for (const a of changedAlerts) {
          out.push({
            id: idOf(g.route.receiver, a.fingerprint, a.status, a.startsAt, a.endsAt),
            receiver: g.route.receiver,
            key: `${g.route.receiver}|${a.fingerprint}`,
            message: { groupKey: g.key, groupLabels: g.labels, status: a.status, alerts: [a] },
          });
        }
      } else {
        if (repeatDue) g.repeat++;
        else g.repeat = 0;
        out.push({
          id: idOf(g.route.receiver, g.key, current.map(state).join(','), current.map((a) => a.fingerprint).join(','), g.repeat),
          receiver: g.route.receiver,
          key: `${g.route.receiver}|${g.key}`,
          message: { groupKey: g.key, groupLabels: g.labels, status, alerts: current, ...(g.repeat > 0 ? { repeat: g.repeat } : {}) },
        });
      }
      g.lastSent = new Map(current.map((a) => [a.fingerprint, `${a.status}@${a.startsAt}`]));
      g.lastSentAt = now;
    }
    for (const a of current) if (a.status === 'resolved') g.alerts.delete(a.fingerprint);
    g.nextFlushAt = now + g.route.groupIntervalMs;
    if (g.alerts.size === 0) groups.delete(g.key);
  }

  function run(now: number): Dispatch[] {
    const out: Dispatch[] = [];
    const eff = effective(now);
    const muted = inhibitedFingerprints(eff, opts.inhibitRules);
    inhibited = muted.size;
    silenced = 0;
    const inGroup = new Map<string, Set<string>>();
    for (const a of eff) {
      const routes = matchRoutes(opts.route, a.labels);
      for (const route of routes) {
        const traits = opts.receivers.get(route.receiver);
        if (!traits) continue;
        if (traits.raw) {
          dispatchRaw(route.receiver, traits, a, now, out);
          continue;
        }
        if (muted.has(a.fingerprint)) continue;
        if (opts.silences?.silencedBy(a.labels, now)) {
          silenced++;
          continue;
        }
        const labels = groupLabels(route, a.labels);
        const key = `${route.id}:${JSON.stringify(labels)}`;
        let g = groups.get(key);
        if (!g) {
          if (a.status === 'resolved') continue;
          g = { key, route, labels, alerts: new Map(), nextFlushAt: now + route.groupWaitMs, lastSent: new Map(), lastSentAt: -Infinity, repeat: 0 };
          groups.set(key, g);
        }
        g.alerts.set(a.fingerprint, a);
        let s = inGroup.get(key);
        if (!s) inGroup.set(key, (s = new Set()));
        s.add(a.fingerprint);
      }
    }
    // Alerts that left a group (silenced, inhibited, forgotten) are dropped without a resolve, as in Alertmanager.
    for (const g of groups.values()) {
      const s = inGroup.get(g.key);
      for (const fp of [...g.alerts.keys()]) if (!s?.has(fp)) g.alerts.delete(fp);
    }
    for (const rk of [...raw.keys()]) {
      const fp = rk.slice(rk.indexOf('|') + 1);
      if (!episodes.has(fp)) raw.delete(rk);
    }
    for (const g of [...groups.values()]) {
      if (g.alerts.size === 0 && g.lastSent.size === 0) {
        groups.delete(g.key);
        continue;
      }
      if (now >= g.nextFlushAt) flush(g, now, out);
    }
    return out;
  }

  return {
    observe(alerts, now) {
      update(alerts, now);
      return run(now);
    },
    tick(now) {
      return run(now);
    },
    nextDueAt() {
      let next: number | undefined;
      const take = (t: number) => (next = next === undefined ? t : Math.min(next, t));
      for (const g of groups.values()) take(g.nextFlushAt);
      for (const ep of episodes.values()) if (ep.status === 'holding') take(ep.resolvedAt! + opts.resolveHoldMs);
      return next;
    },
    stats() {
      let held = 0;
      for (const ep of episodes.values()) if (ep.status === 'holding') held++;
      return { episodes: episodes.size, groups: groups.size, silenced, inhibited, held };
    },
  };
}
