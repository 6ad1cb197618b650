/**
 * Builds the pager (routing + durable outbox + receivers) from a `paging:` section and
 * the CLI's shorthands (`--alertmanager`, `--webhook`). Shared by `ingest` and the chain.
 */
import { createPager, parsePagingConfig, type Pager, type PagingConfigInput } from '../alerts/routing/index.ts';
import type { Clock } from '../core/clock.ts';

/** What {@link buildPager} needs. */
export interface PagerSpec {
  readonly paging?: PagingConfigInput | undefined;
  readonly alertmanagerUrl?: string | undefined;
  readonly webhookUrls?: readonly string[] | undefined;
  /** Outbox journal directory (required when there is any receiver). */
  readonly journalDir?: string | undefined;
  readonly clock: Clock;
  readonly log?: (line: string) => void;
}

/** The pager for the receivers the spec names; null when there are none. */
export function buildPager(spec: PagerSpec): Pager | null {
  const base = spec.paging ?? {};
  const receivers = [...(base.receivers ?? [])];
  if (spec.alertmanagerUrl) receivers.push({ name: 'alertmanager', type: 'alertmanager', url: spec.alertmanagerUrl });
  (spec.webhookUrls ?? []).forEach((url, i) => receivers.push({ name: `webhook-${i + 1}`, type: 'webhook', url }));
  if (receivers.length === 0) return null;
  if (!spec.journalDir) throw new Error('an outbox journal directory is required when alerts are sent to receivers');
  // Without an explicit route, every alert goes to every receiver.
  const route = base.route ?? { receiver: receivers[0]!.name, routes: receivers.map((r) => ({ receiver: r.name, continue: true })) };
  return createPager({ config: parsePagingConfig({ ...base, receivers, route }), journalDir: spec.journalDir, clock: spec.clock, ...(spec.log ? { log: spec.log } : {}) });
}
