/**
 * Stage: rules — the early-warning engine (PromQL, forecasts, the rule engine and its
 * state, backtests, and the one rules stage every entry point builds).
 *
 * In: Prometheus-normalized samples from the pipeline's tap (`SeriesStore.add`) and the
 * watermark of that stream (`WatermarkScheduler.observe`), plus rule files
 * (`rules/packs/default.yml`). Out: alert state transitions (to `alerts_log` through
 * `createAlertsLogWriter`) and the current firing/resolved set (to a `NotifyFn`, which
 * `paging/` routes to receivers through its durable outbox). The CLI composition root wires the tap,
 * the engine, the notifier and the log writer; nothing here reads the wall clock.
 */
export { createSeriesStore, matchLabel } from './windows.ts';
export type { SeriesStore, SeriesStoreOptions, StoredSeries } from './windows.ts';
export { parsePromQL, PromQLError, FUNCTIONS, typeOf } from './promql/parse.ts';
export type { Expr, LabelMatcher, MatchOp, BinaryOp, AggregateOp, ValueType, VectorMatching, VectorSelector, MatrixSelector } from './promql/ast.ts';
export { evaluate, evaluateVector, EvalError, DEFAULT_LOOKBACK_MS } from './promql/eval.ts';
export type { Value, VectorSample, RangeSeries, EvalOptions } from './promql/eval.ts';
export { parseRuleFile, loadRuleFile, requiredRetentionMs, RuleFileError } from './ruleFile.ts';
export type { Rule, AlertingRule, RecordingRule, RuleGroup } from './ruleFile.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { compileTemplate, humanize, humanizeDuration } from './template.ts';
export { transition, INACTIVE } from './alertState.ts';
export type { AlertState, AlertObservation, AlertTiming } from './alertState.ts';
export { createRuleEngine } from './engine.ts';
export type { RuleEngine, RuleEngineOptions, EvaluationResult, AlertTransition, ActiveAlert, RuleHealth, EngineHealth } from './engine.ts';
export { createWatermarkScheduler } from './scheduler.ts';
export type { WatermarkScheduler, WatermarkSchedulerOptions } from './scheduler.ts';
export { createRulesStage, buildPager } from './stage.ts';
export type { RulesStage, RulesStageOptions, PagerSpec } from './stage.ts';
export { createAlertsLogWriter, toAlertsLogRow } from './alertsLog.ts';
export type { AlertsLogClient } from './alertsLog.ts';
export { requiredRetentionByMetric } from './ruleFile.ts';
export { createStatePersister, readStateFile, writeStateFile, StateFileError } from './statePersistence.ts';
export type { EngineStateSnapshot, StatePersister } from './statePersistence.ts';
