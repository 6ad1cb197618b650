/**
 * Forecasting and detection kernels of the rules engine: pure math over (time, value)
 * points behind the `create / add / merge? / result` interface, no I/O. In: a window of
 * samples (from the PromQL evaluator) or a CSV stream (`vigie detect`). Out: numbers the
 * `vigie_*` PromQL functions return (rules/promql/vigie.ts) (the timetable's
 * expected-load series live in `schedule/`).
 */
export { runKernel, medianInPlace, select } from './kernel.ts';
export type { Kernel } from './kernel.ts';
export { theilSen, theilSenKernel, timeToThreshold, normalQuantile } from './theilSen.ts';
export type { TheilSenParams, TheilSenResult, TheilSenState, Band } from './theilSen.ts';
export { holtKernel, holtForecast, holtHalfWidth } from './holt.ts';
export type { HoltParams, HoltResult, HoltState } from './holt.ts';
export { queueKnee, erlangB, erlangC } from './queue.ts';
export { anomalyKernel, anomalyScores, pToScore, ANOMALY_DEFAULTS, ANOMALY_WINDOW_PARAMS, DEFAULT_ANOMALY_THRESHOLD } from './anomaly.ts';
export type { AnomalyParams, AnomalyState } from './anomaly.ts';
