/**
 * The alert state machine, as a discriminated union and one pure transition function,
 * following Prometheus `rules/alerting.go`: inactive → pending (active, waiting `for`)
 * → firing → resolved; `keep_firing_for` holds a firing alert after its condition
 * clears, and Vigie's `keep_firing_while` hysteresis holds it while a looser condition
 * still holds. Time is always a parameter.
 */
import type { Labels } from '../core/samples.ts';

/** State of one alert instance (one label set of one alerting rule). */
export type AlertState =
  | { readonly kind: 'inactive' }
  | { readonly kind: 'pending'; readonly activeAt: number; readonly value: number; readonly labels: Labels }
  | {
      readonly kind: 'firing';
      readonly activeAt: number;
      readonly firedAt: number;
      readonly value: number;
      readonly labels: Labels;
      readonly lastSeenActiveAt: number;
      /** First evaluation at which the condition was no longer true (keep_firing_for clock); undefined while active. */
      readonly keepFiringSince?: number;
    }
  | {
      readonly kind: 'resolved';
      readonly activeAt: number;
      readonly firedAt: number;
      readonly resolvedAt: number;
      readonly value: number;
      readonly labels: Labels;
    };

/** What one evaluation saw for this alert instance. */
export interface AlertObservation {
  readonly active: boolean;
  /**
   * Hysteresis: the rule's looser `keep_firing_while` condition still holds for this
   * instance. Only matters when `active` is false: a firing alert then stays firing
   * (and its keep_firing_for clock does not start); pending alerts are not held.
   */
  readonly held?: boolean;
  readonly value: number;
  readonly labels: Labels;
}

/** Timing parameters of the rule. */
export interface AlertTiming {
  readonly forMs: number;
  readonly keepFiringForMs: number;
}

/** The inactive state. */
export const INACTIVE: AlertState = { kind: 'inactive' };

/** Next state after observing `obs` at `now`. Pure. */
export function transition(prev: AlertState, obs: AlertObservation, now: number, rule: AlertTiming): AlertState {
  if (obs.active) {
    switch (prev.kind) {
      case 'inactive':
      case 'resolved':
        // A new activation; with for=0 Prometheus fires in the same evaluation.
        if (rule.forMs <= 0) {
          return { kind: 'firing', activeAt: now, firedAt: now, value: obs.value, labels: obs.labels, lastSeenActiveAt: now };
        }
        return { kind: 'pending', activeAt: now, value: obs.value, labels: obs.labels };
      case 'pending':
        if (now - prev.activeAt >= rule.forMs) {
          return { kind: 'firing', activeAt: prev.activeAt, firedAt: now, value: obs.value, labels: obs.labels, lastSeenActiveAt: now };
        }
        return { kind: 'pending', activeAt: prev.activeAt, value: obs.value, labels: obs.labels };
      case 'firing':
        return { kind: 'firing', activeAt: prev.activeAt, firedAt: prev.firedAt, value: obs.value, labels: obs.labels, lastSeenActiveAt: now };
    }
  }
  switch (prev.kind) {
    case 'inactive':
    case 'resolved':
      return prev;
    case 'pending':
      return INACTIVE;
    case 'firing': {
      if (obs.held === true) {
        if (prev.keepFiringSince === undefined) return prev;
        const { keepFiringSince: _cleared, ...rest } = prev;
        return rest;
      }
      if (rule.keepFiringForMs > 0) {
        const since = prev.keepFiringSince ?? now;
        if (now - since < rule.keepFiringForMs) return { ...prev, keepFiringSince: since };
      }
      return { kind: 'resolved', activeAt: prev.activeAt, firedAt: prev.firedAt, resolvedAt: now, value: prev.value, labels: prev.labels };
    }
  }
}
