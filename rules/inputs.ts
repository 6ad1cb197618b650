/**
 * What a rule pack reads, and whether a store can feed it: the selectors of every rule,
 * checked against the series a store holds, so `vigie rules check FILE --against STORE`
 * lists every input a platform does not emit and every rule that therefore stays silent.
 *
 * A rule "can produce output" when its expression can: a selector needs a matching series
 * (or a recording rule of the pack that can produce output, or a series Vigie feeds
 * itself), `a or b` needs either side, `absent(…)`/`vector(…)`/`time()` always can, every
 * other operator needs all its vector operands. Rules that cannot produce output never
 * page: absent inputs make them silent, not noisy.
 */
import type { Labels } from '../core/samples.ts';
import type { Expr, LabelMatcher } from './promql/ast.ts';
import type { RuleGroup } from './ruleFile.ts';
import { matchLabel } from './windows.ts';

/** One selector of a rule, as written. */
export interface RuleSelector {
  readonly name: string | undefined;
  readonly matchers: readonly LabelMatcher[];
  readonly text: string;
}

/** A series a store holds (metric + labels). */
export interface StoredSeriesInfo {
  readonly metric: string;
  readonly labels: Labels;
}

/** Series Vigie writes into the rules' store itself, with what feeds them. */
export const VIGIE_FED_METRICS: ReadonlyMap<string, string> = new Map([
  ['ecampus_expected_sessions', 'the exam schedule (vigie schedule import), or the stored plan (vigie plan --store)'],
  ['ecampus_expected_peak_sessions', 'the exam schedule (vigie schedule import), or the stored plan (vigie plan --store)'],
  ['ecampus_platform_expected_sessions', 'the exam schedule (vigie schedule import), or the stored plan (vigie plan --store)'],
  ['ecampus_platform_expected_peak_sessions', 'the exam schedule (vigie schedule import), or the stored plan (vigie plan --store)'],
  ['vigie_plan_expected_logins_per_second', 'the stored plan (vigie plan --store)'],
  ['vigie_plan_expected_requests_per_second', 'the stored plan (vigie plan --store)'],
  ['vigie_pipeline_consumer_lag_messages', 'vigie ingest (its own health)'],
  ['vigie_pipeline_seconds_since_last_store', 'vigie ingest (its own health)'],
  ['vigie_pipeline_samples_rejected_total', 'vigie ingest (its own validation: refusals by reason)'],
]);

/** The check of one pack against one store. */
export interface InputsReport {
  /** Selectors on stored metrics that match no stored series, with the rules that read them. */
  readonly missing: readonly { readonly selector: string; readonly rules: readonly string[] }[];
  /** Vigie-fed inputs the pack reads, with their source. */
  readonly fedByVigie: readonly { readonly metric: string; readonly source: string }[];
  /** Alerting and recording rules that cannot produce output from this store. */
  readonly silent: readonly { readonly kind: 'alert' | 'record'; readonly name: string; readonly group: string; readonly because: readonly string[] }[];
  readonly rules: number;
}

function selectorText(name: string | undefined, matchers: readonly LabelMatcher[]): string {
  const ms = matchers.filter((m) => m.name !== '__name__' || name === undefined).map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`);
  return `${name ?? ''}${ms.length ? `{${ms.join(',')}}` : ''}`;
}

/** Every vector selector in `e` (also inside nodes this walker does not know by name). */
export function selectorsOf(e: Expr): RuleSelector[] {
  const out: RuleSelector[] = [];
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(walk);
      return;
    }
    const o = n as Record<string, unknown>;
    if (o['kind'] === 'vectorSelector') {
      const name = o['name'] as string | undefined;
      const matchers = (o['matchers'] as LabelMatcher[] | undefined) ?? [];
      out.push({ name, matchers, text: selectorText(name, matchers) });
      return;
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(e);
  return out;
}

/** Checks `groups` against the series of a store. */
export function checkRuleInputs(groups: readonly RuleGroup[], stored: readonly StoredSeriesInfo[]): InputsReport {
  const byMetric = new Map<string, Labels[]>();
  for (const s of stored) {
    let l = byMetric.get(s.metric);
    if (!l) byMetric.set(s.metric, (l = []));
    l.push(s.labels);
  }
  const recordedBy = new Map<string, { expr: Expr; name: string }[]>();
  for (const g of groups) for (const r of g.rules) if (r.kind === 'record') (recordedBy.get(r.name) ?? recordedBy.set(r.name, []).get(r.name)!).push({ expr: r.expr, name: r.name });

  const missing = new Map<string, Set<string>>();
  const fed = new Map<string, string>();
  const selectorOk = (sel: RuleSelector, visiting: Set<string>, reasons: string[], ruleName: string): boolean => {
    if (sel.name === undefined) {
      const ok = stored.some((s) => sel.matchers.every((m) => matchLabel(m, m.name === '__name__' ? s.metric : (s.labels[m.name] ?? ''))));
      if (!ok) note(sel.text, ruleName, reasons);
      return ok;
    }
    const src = VIGIE_FED_METRICS.get(sel.name);
    if (src) {
      fed.set(sel.name, src);
      return true;
    }
    const recs = recordedBy.get(sel.name);
    if (recs) {
      if (visiting.has(sel.name)) return false;
      visiting.add(sel.name);
      const ok = recs.some((r) => canProduce(r.expr, visiting, [], r.name));
      visiting.delete(sel.name);
      if (!ok) reasons.push(`${sel.name} (recorded; its inputs are missing)`);
      return ok;
    }
    const series = byMetric.get(sel.name) ?? [];
    const ok = series.some((labels) => sel.matchers.every((m) => m.name === '__name__' || matchLabel(m, labels[m.name] ?? '')));
    if (!ok) note(sel.text, ruleName, reasons);
    return ok;
  };
  const note = (text: string, ruleName: string, reasons: string[]) => {
    (missing.get(text) ?? missing.set(text, new Set()).get(text)!).add(ruleName);
    reasons.push(text);
  };
  const canProduce = (e: Expr, visiting: Set<string>, reasons: string[], ruleName: string): boolean => {
    switch (e.kind) {
      case 'vectorSelector':
        return selectorOk({ name: e.name, matchers: e.matchers, text: selectorText(e.name, e.matchers) }, visiting, reasons, ruleName);
      case 'matrixSelector':
        return canProduce(e.selector, visiting, reasons, ruleName);
      case 'number':
      case 'string':
        return true;
      case 'call': {
        if (e.func === 'absent' || e.func === 'absent_over_time' || e.func === 'vector' || e.func === 'time' || e.args.length === 0) {
          // Still visit the arguments, so their missing selectors are listed.
          for (const a of e.args) canProduce(a, visiting, [], ruleName);
          return true;
        }
        let ok = true;
        for (const a of e.args) ok = canProduce(a, visiting, reasons, ruleName) && ok;
        return ok;
      }
      case 'aggregate':
        return canProduce(e.expr, visiting, reasons, ruleName);
      case 'binary': {
        const l = canProduce(e.lhs, visiting, reasons, ruleName);
        const r = canProduce(e.rhs, visiting, reasons, ruleName);
        if (e.op === 'or') return l || r;
        if (e.op === 'unless') return l;
        return l && r;
      }
      case 'unary':
      case 'paren':
        return canProduce(e.expr, visiting, reasons, ruleName);
      default: {
        // Constructs this analysis does not know: every selector inside must match.
        let ok = true;
        for (const s of selectorsOf(e)) ok = selectorOk(s, visiting, reasons, ruleName) && ok;
        return ok;
      }
    }
  };

  const silent: { kind: 'alert' | 'record'; name: string; group: string; because: string[] }[] = [];
  let rules = 0;
  for (const g of groups) {
    for (const r of g.rules) {
      rules++;
      const reasons: string[] = [];
      if (!canProduce(r.expr, new Set(), reasons, r.name)) silent.push({ kind: r.kind, name: r.name, group: g.name, because: [...new Set(reasons)] });
    }
  }
  return {
    missing: [...missing].map(([selector, rs]) => ({ selector, rules: [...rs] })).sort((a, b) => a.selector.localeCompare(b.selector)),
    fedByVigie: [...fed].map(([metric, source]) => ({ metric, source })).sort((a, b) => a.metric.localeCompare(b.metric)),
    silent,
    rules,
  };
}

/** The report as text for `vigie rules check --against` (ends with a newline). */
export function formatInputsReport(store: string, seriesCount: number, metricCount: number, r: InputsReport): string {
  const lines = [`against ${store}: ${seriesCount.toLocaleString('en')} stored series of ${metricCount.toLocaleString('en')} metrics`];
  if (r.missing.length === 0) lines.push('  every selector of the pack matches stored series');
  else {
    lines.push(`  ${r.missing.length} selector(s) match no stored series (map your metric names onto them in the metrics: section, or emit them):`);
    for (const m of r.missing) lines.push(`    ${m.selector}   read by ${m.rules.join(', ')}`);
  }
  for (const f of r.fedByVigie) lines.push(`  fed by Vigie: ${f.metric} ← ${f.source}`);
  const alerts = r.silent.filter((s) => s.kind === 'alert');
  if (alerts.length === 0) lines.push(`  all ${r.rules} rules can evaluate on this store`);
  else {
    lines.push(`  ${alerts.length} alert(s) stay silent on this store (they never page on missing data):`);
    for (const s of alerts) lines.push(`    ${s.group}/${s.name}: needs ${s.because.join(', ')}`);
  }
  const records = r.silent.filter((s) => s.kind === 'record');
  if (records.length) lines.push(`  ${records.length} recording rule(s) produce nothing: ${records.map((s) => s.name).join(', ')}`);
  return lines.join('\n') + '\n';
}
