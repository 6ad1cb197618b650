import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INACTIVE, transition, type AlertState } from '../../../rules/alertState.ts';

const on = (value = 1) => ({ active: true, value, labels: { a: '1' } });
const off = { active: false, value: NaN, labels: { a: '1' } };
const rule = { forMs: 60_000, keepFiringForMs: 0 };

function run(obs: boolean[], r = rule, step = 15_000): AlertState[] {
  let s: AlertState = INACTIVE;
  return obs.map((a, i) => (s = transition(s, a ? on(i) : off, i * step, r)));
}

describe('alert state machine', () => {
  it('pending → firing after `for` → resolved', () => {
    const states = run([true, true, true, true, true, false, false]);
    expect(states.map((s) => s.kind)).toEqual(['pending', 'pending', 'pending', 'pending', 'firing', 'resolved', 'resolved']);
    const firing = states[4]!;
    expect(firing.kind === 'firing' && [firing.activeAt, firing.firedAt]).toEqual([0, 60_000]);
    const res = states[5]!;
    expect(res.kind === 'resolved' && res.resolvedAt).toBe(75_000);
  });

  it('a flapping condition never fires when shorter than `for`', () => {
    const states = run([true, true, false, true, true, true, false, true]);
    expect(states.some((s) => s.kind === 'firing')).toBe(false);
    expect(states[2]!.kind).toBe('inactive');
    expect(states[3]!.kind === 'pending' && states[3]!.activeAt).toBe(45_000);
  });

  it('for: 0 fires at once', () => {
    expect(run([true], { forMs: 0, keepFiringForMs: 0 })[0]!.kind).toBe('firing');
  });

  it('keep_firing_for holds a firing alert and a new activation resets it', () => {
    const r = { forMs: 0, keepFiringForMs: 30_000 };
    const states = run([true, false, false, true, false, false, false], r);
    expect(states.map((s) => s.kind)).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'firing', 'resolved']);
    const last = states[6]!;
    expect(last.kind === 'resolved' && [last.activeAt, last.resolvedAt]).toEqual([0, 90_000]);
  });

  it('re-activation after resolve starts a new pending period', () => {
    const states = run([true, true, true, true, true, false, true]);
    expect(states[6]!.kind === 'pending' && states[6]!.activeAt).toBe(90_000);
  });

  it('never fires before `for` has elapsed since activeAt (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 4 }), (obs, forSteps, keepSteps) => {
        const r = { forMs: forSteps * 15_000, keepFiringForMs: keepSteps * 15_000 };
        let s: AlertState = INACTIVE;
        obs.forEach((a, i) => {
          const now = i * 15_000;
          const next = transition(s, a ? on() : off, now, r);
          if (next.kind === 'firing') expect(next.firedAt - next.activeAt).toBeGreaterThanOrEqual(r.forMs);
          if (next.kind === 'firing' && s.kind !== 'firing') expect(a).toBe(true);
          if (next.kind === 'resolved' && s.kind !== 'resolved') expect(s.kind).toBe('firing');
          s = next;
        });
      }),
    );
  });
});
