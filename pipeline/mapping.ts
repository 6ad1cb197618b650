/**
 * The metric mapping: turns a platform's own metric and label names into Vigie's
 * telemetry contract (docs/telemetry-contract.md) at ingest, before samples are stored
 * and before the rules see them. So the shipped rule pack, the dashboards, backtests and
 * the post-mortem all read one vocabulary, whatever the platform emits.
 *
 * Config (`metrics:` in the config file), applied in this order to every sample:
 *
 * ```yaml
 * metrics:
 *   rename:                       # platform name → contract name (Prometheus-normalized)
 *     moodle_users_online: ecampus_sessions_active
 *   relabel:                      # Prometheus metric_relabel_configs semantics
 *     - source_labels: [status_class]
 *       target_label: http_response_status_code
 *     - action: labeldrop
 *       regex: status_class
 * ```
 *
 * Relabel actions: `replace` (default), `keep`, `drop`, `labelmap`, `labeldrop`,
 * `labelkeep`; `regex` is fully anchored as in Prometheus, `__name__` is the metric name.
 */
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import type { Labels, Sample } from '../core/samples.ts';
import type { DecodedSample } from '../otlp/decode.ts';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const relabelSchema = z
  .object({
    action: z.enum(['replace', 'keep', 'drop', 'labelmap', 'labeldrop', 'labelkeep']).default('replace'),
    source_labels: z.array(z.string().regex(LABEL_NAME, 'expected a label name')).default([]),
    separator: z.string().default(';'),
    regex: z.string().default('(.*)'),
    target_label: z.string().regex(LABEL_NAME, 'expected a label name').optional(),
    replacement: z.string().default('$1'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.action === 'replace' && !r.target_label) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'action "replace" needs target_label' });
    if ((r.action === 'keep' || r.action === 'drop') && r.source_labels.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `action "${r.action}" needs source_labels` });
    try {
      new RegExp(`^(?:${r.regex})$`, 'u');
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['regex'], message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });

/** Schema of the `metrics:` config section. */
export const metricMappingSchema = z
  .object({
    rename: z.record(z.string().regex(METRIC_NAME, 'expected a metric name'), z.string().regex(METRIC_NAME, 'expected a metric name')).default({}),
    relabel: z.array(relabelSchema).default([]),
  })
  .strict();

/** What a `metrics:` section may say. */
export type MetricMappingInput = z.input<typeof metricMappingSchema>;

/** A compiled mapping: returns a new array of the mapped samples (dropped ones left out). */
export type MetricMapping = (samples: readonly Sample[]) => Sample[];

interface CompiledRule {
  readonly action: z.infer<typeof relabelSchema>['action'];
  readonly source: readonly string[];
  readonly separator: string;
  readonly regex: RegExp;
  readonly target: string | undefined;
  readonly replacement: string;
}

/** Validates a `metrics:` section (errors name the key) and compiles it. */
export function parseMetricMapping(input: unknown, source = 'metrics'): MetricMapping | null {
  const r = metricMappingSchema.safeParse(input ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${[source, ...i.path].join('.')}: ${i.message}`);
    throw new ConfigError(`invalid metric mapping:\n${lines.join('\n')}`);
  }
  const rename = new Map(Object.entries(r.data.rename));
  const rules: CompiledRule[] = r.data.relabel.map((x) => ({
    action: x.action,
    source: x.source_labels,
    separator: x.separator,
    regex: new RegExp(`^(?:${x.regex})$`, 'u'),
    target: x.target_label,
    replacement: x.replacement,
  }));
  if (rename.size === 0 && rules.length === 0) return null;
  return (samples) => {
    const out: Sample[] = [];
    for (const s of samples) {
      const m = mapOne(s, rename, rules);
      if (m) out.push(m);
    }
    return out;
  };
}

/** Maps one sample; null when a keep/drop rule drops it. */
function mapOne(s: Sample, rename: ReadonlyMap<string, string>, rules: readonly CompiledRule[]): Sample | null {
  const metric = rename.get(s.metric) ?? s.metric;
  // A renamed sample keeps the decoder's counter flag (its OTLP type) but not its series
  // key, which named the old metric.
  if (rules.length === 0) return metric === s.metric ? s : renamed(s, metric);
  const labels: Record<string, string> = { ...s.labels, __name__: metric };
  for (const r of rules) {
    const value = r.source.map((n) => labels[n] ?? '').join(r.separator);
    switch (r.action) {
      case 'replace': {
        const m = r.regex.exec(value);
        if (!m) break;
        const v = expand(r.replacement, m);
        if (v === '') delete labels[r.target!];
        else labels[r.target!] = v;
        break;
      }
      case 'keep':
        if (!r.regex.test(value)) return null;
        break;
      case 'drop':
        if (r.regex.test(value)) return null;
        break;
      case 'labelmap':
        for (const [k, v] of Object.entries(labels)) {
          const m = r.regex.exec(k);
          if (m) labels[expand(r.replacement, m)] = v;
        }
        break;
      case 'labeldrop':
        for (const k of Object.keys(labels)) if (k !== '__name__' && r.regex.test(k)) delete labels[k];
        break;
      case 'labelkeep':
        for (const k of Object.keys(labels)) if (k !== '__name__' && !r.regex.test(k)) delete labels[k];
        break;
    }
  }
  const name = labels['__name__'] ?? metric;
  delete labels['__name__'];
  return { metric: name, labels: labels as Labels, timestampMs: s.timestampMs, value: s.value };
}

function renamed(s: Sample, metric: string): Sample {
  const counter = (s as DecodedSample).counter;
  return counter === undefined ? { metric, labels: s.labels, timestampMs: s.timestampMs, value: s.value } : ({ metric, labels: s.labels, timestampMs: s.timestampMs, value: s.value, counter } as DecodedSample);
}

/** `$1`, `${1}` and `$name` groups, as Prometheus' regexp Expand does for relabel replacements. */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, a: string | undefined, b: string | undefined) => {
    const k = (a ?? b)!;
    const v = /^\d+$/.test(k) ? m[Number(k)] : m.groups?.[k];
    return v ?? '';
  });
}
