/**
 * Inhibition, as in Alertmanager: a firing alert matching a rule's source matchers
 * mutes the alerts matching its target matchers that carry the same values of the
 * `equal` labels — e.g. a platform-wide collapse alert mutes the per-faculty pages it
 * explains. An alert never inhibits itself.
 */
import type { Notification } from '../receivers/types.ts';
import type { InhibitRule } from './config.ts';
import { matchAll } from './matchers.ts';

/** Returns the fingerprints of `alerts` that some firing alert in `alerts` inhibits. */
export function inhibitedFingerprints(alerts: readonly Notification[], rules: readonly InhibitRule[]): Set<string> {
  const out = new Set<string>();
  if (rules.length === 0) return out;
  const firing = alerts.filter((a) => a.status === 'firing');
  for (const rule of rules) {
    const sources = firing.filter((a) => matchAll(rule.source_matchers, a.labels));
    if (sources.length === 0) continue;
    for (const t of alerts) {
      if (out.has(t.fingerprint) || !matchAll(rule.target_matchers, t.labels)) continue;
      const hit = sources.some((s) => s.fingerprint !== t.fingerprint && rule.equal.every((l) => (s.labels[l] ?? '') === (t.labels[l] ?? '')));
      if (hit) out.add(t.fingerprint);
    }
  }
  return out;
}
