/**
 * Operator-facing report of what the pipeline did not store: one line per reason per
 * interval (count, an example series, a hint of what to check), so a wrong clock or a
 * too-short `--max-age` shows on stderr at once instead of only in a metric. The same
 * totals feed the stop summary. Scheduling (the interval timer) lives in the pipeline;
 * this module only aggregates and formats.
 */
import { REJECT_REASONS } from '../otlp/decode.ts';

/** The validation bounds the hints quote (so the line says which limit was hit). */
export interface RejectionLimits {
  readonly maxAgeMs: number;
  readonly maxSkewMs: number;
  readonly maxLabelValueLength: number;
  readonly maxSeriesPerMetric: number;
  readonly maxMetricNames?: number;
}

/** Pipeline-level reasons reported next to the sample rejections of `toSamples`. */
export const MESSAGE_REASONS = {
  /** A message with no bytes, or an OTLP request with no resource metrics. */
  empty: 'empty_message',
  /** A poison message that could not be dead-lettered and was skipped (see the DLQ policy). */
  dlqFailed: 'dlq_failed',
} as const;

/** Aggregates rejections between two flushes and over the life of the pipeline. */
export interface RejectionReporter {
  /** Adds counts (and examples) of one committed batch. */
  add(counts: Readonly<Record<string, number>>, examples?: Readonly<Record<string, string>>): void;
  /** Writes one line per reason seen since the last flush; no-op when nothing was rejected. */
  flush(): void;
  /** Totals since creation, by reason. */
  totals(): Record<string, number>;
}

/** `1,024`: counts for people. */
function n(x: number): string {
  return x.toLocaleString('en');
}

/** A duration for people: `7 days`, `10 min`, `90 s`. */
export function humanDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

/** What the operator should check, per reason (the line's tail). */
export function rejectionHint(reason: string, limits: RejectionLimits): string {
  switch (reason) {
    case REJECT_REASONS.clockSkew:
      return `points older than ${humanDuration(limits.maxAgeMs)} or more than ${humanDuration(limits.maxSkewMs)} ahead: is the producer's clock or the \`--max-age\` right?`;
    case REJECT_REASONS.cardinality:
      return `points of new series over the limit of ${n(limits.maxSeriesPerMetric)} series per metric (or the total): is a label carrying an id (user, session, URL)? Series unseen for a while are forgotten`;
    case REJECT_REASONS.metricNames:
      return `points of new metric names over the limit of ${n(limits.maxMetricNames ?? 0)} metric families: is a metric name carrying an id?`;
    case REJECT_REASONS.labelTooLong:
      return `points with a label value longer than ${n(limits.maxLabelValueLength)} characters: is a label carrying a payload?`;
    case REJECT_REASONS.nonFinite:
      return 'samples with a NaN or infinite value: check the instrument that records them';
    case REJECT_REASONS.deltaTemporality:
      return 'points with delta temporality: configure the exporter for cumulative temporality';
    case REJECT_REASONS.exponentialHistogram:
      return 'exponential histogram points: configure explicit bucket histograms for this metric';
    case REJECT_REASONS.summary:
      return 'summary points: Vigie stores histograms, not summaries';
    case REJECT_REASONS.invalidName:
      return 'points whose metric name is not usable in Prometheus form: rename the instrument';
    case REJECT_REASONS.invalidHistogram:
      return 'histogram points whose bucket counts do not match their bounds: the producer is broken';
    case REJECT_REASONS.noData:
      return 'points without a value: the producer sends empty data points';
    case REJECT_REASONS.noRecordedValue:
      return 'staleness markers (no recorded value): expected when a series stops';
    case MESSAGE_REASONS.empty:
      return 'empty messages (no bytes or no resource metrics): is a producer sending null values?';
    case MESSAGE_REASONS.dlqFailed:
      return 'poison messages that could not be written to the dead-letter topic and were skipped: check the DLQ topic and its max.message.bytes';
    default:
      return 'rejected';
  }
}

/** Creates a reporter writing through `log` (one line per reason per flush). */
export function createRejectionReporter(opts: { readonly limits: RejectionLimits; readonly log: (line: string) => void }): RejectionReporter {
  const total: Record<string, number> = {};
  let pending: Record<string, number> = {};
  let pendingExamples: Record<string, string> = {};
  return {
    add(counts, examples) {
      for (const [reason, c] of Object.entries(counts)) {
        if (!(c > 0)) continue;
        total[reason] = (total[reason] ?? 0) + c;
        pending[reason] = (pending[reason] ?? 0) + c;
        const ex = examples?.[reason];
        if (ex !== undefined && pendingExamples[reason] === undefined) pendingExamples[reason] = ex;
      }
    },
    flush() {
      for (const [reason, c] of Object.entries(pending)) {
        const ex = pendingExamples[reason];
        opts.log(
          `vigie pipeline.rejected reason=${reason} count=${c}: ${n(c)} ${rejectionHint(reason, opts.limits)}` +
            (ex !== undefined ? ` (e.g. ${ex.length > 200 ? ex.slice(0, 200) + '…' : ex})` : ''),
        );
      }
      pending = {};
      pendingExamples = {};
    },
    totals: () => ({ ...total }),
  };
}

/** `clock_skew 2,133,392, empty_message 3` for the stop summary; `none` when empty. */
export function formatRejections(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, c]) => c > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([r, c]) => `${r} ${n(c)}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
