/**
 * Prometheus-style rule files → validated, compiled rule groups. YAML is decoded and
 * checked with zod at the edge; every `expr` is parsed and every template compiled at
 * load, so a bad rule fails start-up with the file, group, rule and reason.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { parseDuration, tryParseDuration } from './duration.ts';
import type { Expr } from './promql/ast.ts';
import { parsePromQL, PromQLError } from './promql/parse.ts';
import { compileTemplate, type CompiledTemplate } from './template.ts';

/** A rule file that cannot be loaded; the message names file, group, rule and reason. */
export class RuleFileError extends ConfigError {}

const durationString = z
  .string()
  .refine((s) => tryParseDuration(s) !== undefined, { message: 'invalid duration: expected e.g. 30s, 5m, 1h30m' });

const labelMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const ruleSchema = z
  .object({
    alert: z.string().min(1).optional(),
    record: z.string().min(1).optional(),
    expr: z.union([z.string().min(1), z.number().transform(String)]),
    for: durationString.optional(),
    keep_firing_for: durationString.optional(),
    // Vigie extension (hysteresis): a firing alert keeps firing while this looser expression returns its labels.
    keep_firing_while: z.union([z.string().min(1), z.number().transform(String)]).optional(),
    labels: labelMap.optional(),
    annotations: labelMap.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.alert === undefined) === (r.record === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'exactly one of "alert" or "record" is required' });
    }
    if (r.record !== undefined && (r.for !== undefined || r.keep_firing_for !== undefined || r.annotations !== undefined || r.keep_firing_while !== undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'recording rules take no "for", "keep_firing_for", "keep_firing_while" or "annotations"' });
    }
  });

const groupSchema = z
  .object({
    name: z.string().min(1),
    interval: durationString.optional(),
    limit: z.number().int().nonnegative().optional(),
    rules: z.array(z.unknown()),
  })
  .strict();

const fileSchema = z.object({ groups: z.array(z.unknown()) }).strict();

/** Fields common to both rule kinds. */
interface RuleBase {
  readonly name: string;
  readonly group: string;
  readonly exprText: string;
  readonly expr: Expr;
  readonly labels: Readonly<Record<string, string>>;
  /** Compiled label templates (label values may use `{{ $labels.x }}`). */
  readonly labelTemplates: Readonly<Record<string, CompiledTemplate>>;
}

/** An alerting rule, compiled. */
export interface AlertingRule extends RuleBase {
  readonly kind: 'alert';
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly annotations: Readonly<Record<string, string>>;
  readonly annotationTemplates: Readonly<Record<string, CompiledTemplate>>;
  /**
   * Vigie hysteresis (`keep_firing_while`): while firing, the alert stays firing as long
   * as this expression returns a sample whose labels (after rule labels) are the alert's.
   * Typically the alert condition with a looser threshold (fire > 0.9, hold > 0.8).
   */
  readonly keepFiringWhile?: { readonly text: string; readonly expr: Expr };
}

/** A recording rule, compiled. */
export interface RecordingRule extends RuleBase {
  readonly kind: 'record';
}

/** Either rule kind. */
export type Rule = AlertingRule | RecordingRule;

/** A rule group: rules evaluated in order at one interval. */
export interface RuleGroup {
  readonly name: string;
  readonly file: string;
  /** Interval override; undefined means the engine's evaluation interval. */
  readonly intervalMs: number | undefined;
  readonly rules: readonly Rule[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function zodReason(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

function compileTemplates(map: Readonly<Record<string, string>>, where: (reason: string) => never, what: string): Record<string, CompiledTemplate> {
  const out: Record<string, CompiledTemplate> = {};
  for (const [k, v] of Object.entries(map)) {
    if (what === 'label' && !LABEL_NAME.test(k)) where(`invalid label name "${k}"`);
    try {
      out[k] = compileTemplate(v);
    } catch (e) {
      where(`${what} "${k}": ${(e as Error).message}`);
    }
  }
  return out;
}

/** Parses rule-file text. `file` is only used in error messages and `RuleGroup.file`. */
export function parseRuleFile(text: string, file = '<inline>'): RuleGroup[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new RuleFileError(`${file}: invalid YAML: ${(e as Error).message}`, { cause: e });
  }
  const top = fileSchema.safeParse(doc ?? {});
  if (!top.success) throw new RuleFileError(`${file}: ${zodReason(top.error)} (expected a top-level "groups:" list)`);
  const groups: RuleGroup[] = [];
  const names = new Set<string>();
  top.data.groups.forEach((g, gi) => {
    const gp = groupSchema.safeParse(g);
    const gname = typeof (g as { name?: unknown })?.name === 'string' ? (g as { name: string }).name : `#${gi + 1}`;
    if (!gp.success) throw new RuleFileError(`${file}: group "${gname}": ${zodReason(gp.error)}`);
    if (names.has(gp.data.name)) throw new RuleFileError(`${file}: group "${gname}": duplicate group name`);
    names.add(gp.data.name);
    const rules: Rule[] = [];
    gp.data.rules.forEach((r, ri) => {
      const raw = r as { alert?: unknown; record?: unknown };
      const rname = typeof raw?.alert === 'string' ? raw.alert : typeof raw?.record === 'string' ? raw.record : `#${ri + 1}`;
      const fail = (reason: string): never => {
        throw new RuleFileError(`${file}: group "${gp.data.name}", rule "${rname}" (#${ri + 1}): ${reason}`);
      };
      const rp = ruleSchema.safeParse(r);
      if (!rp.success) return fail(zodReason(rp.error));
      const d = rp.data;
      let expr: Expr;
      try {
        expr = parsePromQL(d.expr);
      } catch (e) {
        return fail(e instanceof PromQLError ? e.message : `invalid expr: ${(e as Error).message}`);
      }
      const labels = d.labels ?? {};
      const labelTemplates = compileTemplates(labels, fail, 'label');
      if (d.record !== undefined) {
        if (!METRIC_NAME.test(d.record)) fail(`invalid recorded metric name "${d.record}"`);
        rules.push({ kind: 'record', name: d.record, group: gp.data.name, exprText: d.expr, expr, labels, labelTemplates });
      } else {
        const annotations = d.annotations ?? {};
        let keepFiringWhile: AlertingRule['keepFiringWhile'];
        if (d.keep_firing_while !== undefined) {
          try {
            keepFiringWhile = { text: d.keep_firing_while, expr: parsePromQL(d.keep_firing_while) };
          } catch (e) {
            fail(`keep_firing_while: ${e instanceof PromQLError ? e.message : (e as Error).message}`);
          }
        }
        rules.push({
          kind: 'alert',
          name: d.alert!,
          group: gp.data.name,
          exprText: d.expr,
          expr,
          labels,
          labelTemplates,
          forMs: d.for ? parseDuration(d.for) : 0,
          keepFiringForMs: d.keep_firing_for ? parseDuration(d.keep_firing_for) : 0,
          annotations,
          annotationTemplates: compileTemplates(annotations, fail, 'annotation'),
          ...(keepFiringWhile ? { keepFiringWhile } : {}),
        });
      }
    });
    groups.push({ name: gp.data.name, file, intervalMs: gp.data.interval ? parseDuration(gp.data.interval) : undefined, rules });
  });
  return groups;
}

/** Reads and parses a rule file from disk. */
export async function loadRuleFile(path: string): Promise<RuleGroup[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new RuleFileError(`${path}: cannot read rule file: ${(e as Error).message}`, { cause: e });
  }
  return parseRuleFile(text, path);
}

/** Longest range + offset any rule needs, plus lookback: the store retention that suffices. */
export function requiredRetentionMs(groups: readonly RuleGroup[], lookbackMs = 5 * 60_000): number {
  let max = lookbackMs;
  for (const v of requiredRetentionByMetric(groups, lookbackMs).values()) max = Math.max(max, v);
  return max;
}

/**
 * Retention each metric needs (longest range + offset over the selectors naming it, at
 * least the lookback), for `createSeriesStore({ retentionByMetricMs })`: a 6 h SLO window
 * over a recorded series then keeps 6 h of that series only. A selector without a metric
 * name applies to all metrics: its need is stored under the key `*`.
 */
export function requiredRetentionByMetric(groups: readonly RuleGroup[], lookbackMs = 5 * 60_000): Map<string, number> {
  const out = new Map<string, number>();
  const need = (name: string | undefined, ms: number) => {
    const k = name ?? '*';
    out.set(k, Math.max(out.get(k) ?? lookbackMs, ms));
  };
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'matrixSelector':
        need(e.selector.name, e.rangeMs + Math.max(0, e.selector.offsetMs));
        break;
      case 'vectorSelector':
        need(e.name, lookbackMs + Math.max(0, e.offsetMs));
        break;
      case 'call':
        e.args.forEach(walk);
        break;
      case 'aggregate':
        walk(e.expr);
        if (e.param) walk(e.param);
        break;
      case 'binary':
        walk(e.lhs);
        walk(e.rhs);
        break;
      case 'unary':
      case 'paren':
        walk(e.expr);
        break;
      default:
        break;
    }
  };
  for (const g of groups) {
    for (const r of g.rules) {
      walk(r.expr);
      if (r.kind === 'alert' && r.keepFiringWhile) walk(r.keepFiringWhile.expr);
    }
  }
  const any = out.get('*');
  if (any !== undefined) for (const [k, v] of out) out.set(k, Math.max(v, any));
  return out;
}
