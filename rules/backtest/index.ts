/**
 * Backtests: stored ClickHouse history (`samples` + `series`, and `exam_schedule` for the
 * schedule series) → the same rules engine, store and watermark scheduler as the live
 * chain, at evaluation times taken from the data → the alerts that would have fired, with
 * lead times against stored collapses. Used by `vigie rules backtest` and the backtest
 * integration test.
 */
export { backtest, alertsOf } from './backtest.ts';
export type { BacktestAlert, BacktestOptions, BacktestResult } from './backtest.ts';
