/**
 * Simulator — a synthetic e-Campus exam morning. In: knobs (seed, capacity, login ramp,
 * noise, time compression). Out: OTel telemetry recorded on stage 1's collectors (one per
 * simulated server, plus the database host), exported as OTLP on the transport exactly
 * like a real platform would, and the ground truth (when and where it collapsed) to
 * score the alerts against. It never writes rows itself; it feeds the pipeline only
 * through the collectors.
 */
export { createTelemetryTransform, FULL_TELEMETRY } from './telemetry.ts';
export type { TelemetryProfile } from './telemetry.ts';
export { runMorning, resolveMorningOptions, DEFAULT_MORNING } from './morning.ts';
export type { MorningOptions, MorningDeps, MorningProgress, MorningResult } from './morning.ts';
export {
  DEFAULT_DAY_MS,
  dayOf,
  latestPastMorning,
  DEFAULT_PARAMS,
  FACULTIES,
  MODEL,
  MorningModel,
  TruthTracker,
  mulberry32,
  meanLatencyS,
  rampCdf,
  schedule,
  morningSchedule,
  timeoutShare,
} from './model.ts';
export type { CollapseTrigger, Exam, FacultySpec, FacultyTruth, GroundTruth, MorningParams, RampShape, StepOutput } from './model.ts';
