/**
 * Planner — the session morning before it starts. In: the timetable (one reader,
 * `timetable.ts`), the stored history of past mornings (learned load profiles, else
 * documented defaults), the platform's capacity (config or history), and the simulator
 * (collapse risk by headroom). Out: a plan — expected load per minute per faculty,
 * server and platform, flagged minutes, risk at each exam start, and three computed
 * remedies (staggered starts, exams on servers, capacity needed) — as text, CSV and
 * HTML; and the plan's expected series for the rules stage (`series.ts`), stored by
 * `vigie plan --store` for `vigie ingest`, `vigie demo` and `rules backtest` (`store.ts`).
 * A campus's capacity comes from its config or its own stored mornings (`capacity.ts`);
 * the simulator's university is the capacity of `--demo` only.
 */
export { buildPlan, applyWhatIfs, parseWhatIf, planGrid } from './plan.ts';
export type { Plan, PlanOptions, WhatIf, Flag, StartRisk, CapacityNeed, FacultyStagger } from './plan.ts';
export { forecastLoad, makeGrid, addExamLoad, emptyCurve, utilization } from './forecast.ts';
export type { Forecast, FacultyForecast, ServerForecast, Grid, LoadCurve, Variant } from './forecast.ts';
export { configuredCapacity, addServers, scaleCapacity, DEFAULT_PROFILE, LOAD_CONSTANTS } from './model.ts';
export type { CapacityModel, FacultyCapacity, LoadProfile, Estimate, Provenance } from './model.ts';
export { learnProfiles, profileLookup, observeExam, profilesFrom, sizeClass } from './history.ts';
export type { LearnedProfiles, ExamObservation } from './history.ts';
export { calibrateRisk, loadOrCalibrateRisk, riskAt, headroomKey } from './risk.ts';
export type { Risk, RiskTable, RiskObservation } from './risk.ts';
export { solveStagger, peakOf, compareCost } from './stagger.ts';
export type { StaggerItem, StaggerProblem, StaggerSolution, StaggerCost } from './stagger.ts';
export { solveBinPacking } from './binpack.ts';
export type { PackItem, PackBin, PackProblem, PackSolution } from './binpack.ts';
export { formatPlanText, formatPlanCsv, renderPlanHtml, writePlanFiles, proposedChanges } from './report.ts';
export { planSeries, planTable, sampleTable, tableCovers, createPlanFeeder, PLAN_METRICS, PLAN_SERIES_ORDER } from './series.ts';
export type { PlanSeriesInput, PlanTable, PlanTableSeries } from './series.ts';
export { parseCapacityConfig, capacityConfigSchema, learnCapacity, resolveCapacity } from './capacity.ts';
export type { CapacityConfig, LearnedCapacity, ResolvedCapacity } from './capacity.ts';
export { writePlan, loadCurrentPlans, planOverride, describePlans, timetableDigest } from './store.ts';
export type { StoredPlan, WritePlanInput, CurrentPlans } from './store.ts';
export { readTimetable } from './timetable.ts';
export type { TimetableSource } from './timetable.ts';
