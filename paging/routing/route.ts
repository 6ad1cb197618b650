/**
 * The route tree, as Alertmanager evaluates it: depth-first, a node matches when all
 * its matchers do; the first matching child wins unless it says `continue: true`; a
 * node none of whose children match takes the alert itself. Children inherit the
 * receiver, `group_by` and timings they do not set.
 */
import type { Labels } from '../../core/samples.ts';
import type { RouteConfig } from './config.ts';
import { matchAll, type Matcher } from './matchers.ts';

/** Root defaults (Alertmanager's, except group_by, which defaults to what a page is about). */
export const ROUTE_DEFAULTS = {
  group_by: ['alertname', 'faculty'],
  group_wait: 30_000,
  group_interval: 5 * 60_000,
  repeat_interval: 4 * 3600_000,
} as const;

/** A route node with everything inherited resolved. */
export interface ResolvedRoute {
  /** Stable id of the node: its index path (`0`, `0.1`, …). */
  readonly id: string;
  readonly receiver: string;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  /** Empty with `all` true means "group by every label" (`['...']`). */
  readonly groupBy: readonly string[];
  readonly groupByAll: boolean;
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly routes: readonly ResolvedRoute[];
}

/** Resolves inheritance; `fallbackReceiver` serves a config without a route (one receiver). */
export function resolveRoute(cfg: RouteConfig | undefined, fallbackReceiver: string): ResolvedRoute {
  const root: RouteConfig = cfg ?? { receiver: fallbackReceiver, matchers: [], continue: false, routes: [] };
  const walk = (rc: RouteConfig, parent: ResolvedRoute | undefined, id: string): ResolvedRoute => {
    const groupBy = rc.group_by ?? parent?.groupBy ?? ROUTE_DEFAULTS.group_by;
    const self = {
      id,
      receiver: rc.receiver ?? parent?.receiver ?? fallbackReceiver,
      matchers: rc.matchers,
      continue: rc.continue,
      groupBy: groupBy.filter((g) => g !== '...'),
      groupByAll: rc.group_by ? rc.group_by.includes('...') : (parent?.groupByAll ?? false),
      groupWaitMs: rc.group_wait ?? parent?.groupWaitMs ?? ROUTE_DEFAULTS.group_wait,
      groupIntervalMs: rc.group_interval ?? parent?.groupIntervalMs ?? ROUTE_DEFAULTS.group_interval,
      repeatIntervalMs: rc.repeat_interval ?? parent?.repeatIntervalMs ?? ROUTE_DEFAULTS.repeat_interval,
      routes: [] as ResolvedRoute[],
    };
    self.routes = rc.routes.map((c, i) => walk(c, self, `${id}.${i}`));
    return self;
  };
  return walk(root, undefined, '0');
}

/** The route nodes that take an alert with these labels (at least the root). */
export function matchRoutes(root: ResolvedRoute, labels: Labels): ResolvedRoute[] {
  const visit = (node: ResolvedRoute): ResolvedRoute[] => {
    if (!matchAll(node.matchers, labels)) return [];
    const out: ResolvedRoute[] = [];
    for (const child of node.routes) {
      const hit = visit(child);
      if (hit.length === 0) continue;
      out.push(...hit);
      if (!child.continue) break;
    }
    return out.length > 0 ? out : [node];
  };
  const hit = visit(root);
  return hit.length > 0 ? hit : [root];
}

/** The labels that identify an alert's group on a route. */
export function groupLabels(route: ResolvedRoute, labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  const names = route.groupByAll ? Object.keys(labels) : route.groupBy;
  for (const n of [...names].sort()) {
    const v = labels[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}
