/**
 * The plan on the demo's timetable: it flags the collapsing faculties' 09:00 starts
 * with their risk, proposes shifts that bring the planned peak under the target, and
 * the simulator playing the shifted timetable does not collapse where the original
 * does. Plus what-ifs, the CSV and the text summary.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, MorningModel, TruthTracker, dayOf, schedule, type Exam, type RampShape } from '../../../simulator/model.ts';
import { buildPlan, calibrateRisk, configuredCapacity, formatPlanCsv, formatPlanText, parseWhatIf, proposedChanges, renderPlanHtml, type Plan, type RiskTable } from '../../../planner/index.ts';

const DAY = dayOf(DEFAULT_PARAMS.start);
let risk: RiskTable;
let plan: Plan;

function collapses(exams: readonly Exam[], seed: number, rampShape: RampShape): string[] {
  const p = { ...DEFAULT_PARAMS, seed, rampShape };
  const m = new MorningModel(p, exams);
  const truth = new TruthTracker(m.capacities());
  while (!m.done) truth.add(m.step(), p.stepMs);
  return truth.result().collapsedFaculties;
}

beforeAll(() => {
  risk = calibrateRisk({ capacities: [0.8, 1, 1.4, 2.3], shapes: ['linear', 'late'] });
  plan = buildPlan({ exams: schedule(DAY), capacity: configuredCapacity(1), profiles: null, risk });
}, 120_000);

describe('plan of the demo morning', () => {
  it("flags the collapsing faculties' 09:00 starts with a high risk, and only those", () => {
    const nine = DAY + 9 * 3_600_000;
    const truth = collapses(schedule(DAY), 42, 'linear');
    expect(truth.sort()).toEqual(['hec', 'law', 'medicine']);
    const risky = plan.starts.filter((s) => s.startMs === nine && s.plannedPeak > plan.target);
    expect(risky.map((s) => s.faculty).sort()).toEqual(truth);
    for (const s of risky) {
      expect(s.risk.probability, s.faculty).toBeGreaterThan(0.5);
      expect(s.risk.comparable).toBeGreaterThan(0);
    }
    const calm = plan.starts.filter((s) => s.startMs === nine && !truth.includes(s.faculty));
    for (const s of calm) expect(s.risk.probability, s.faculty).toBeLessThan(0.5);
    expect(plan.flags.some((f) => f.scope === 'medicine' && f.fromMs < nine && f.toMs > nine)).toBe(true);
  });

  it('proposes the fewest shifts that bring every planned peak under the target', () => {
    const changes = proposedChanges(plan);
    expect(changes.map((c) => c.faculty).sort()).toEqual(['hec', 'law', 'medicine']);
    for (const c of changes) expect(c.minutes % 5).toBe(0);
    for (const s of plan.stagger) {
      expect(s.solution.feasible, s.faculty).toBe(true);
      expect(s.solution.optimal, s.faculty).toBe(true);
    }
    for (const f of plan.after.faculties) expect(Math.max(...f.utilization), f.faculty).toBeLessThanOrEqual(plan.target + 1e-9);
    expect(plan.startsAfter.filter((s) => s.plannedPeak > plan.target)).toEqual([]);
  });

  it('the simulator playing the shifted timetable does not collapse (seeds × ramp shapes)', () => {
    for (const seed of [42, 7]) {
      for (const shape of ['linear', 'early', 'late', 'step'] as const) {
        expect(collapses(schedule(DAY), seed, shape).length, `original, seed ${seed} ${shape}`).toBeGreaterThan(0);
        expect(collapses(plan.proposedExams, seed, shape), `shifted, seed ${seed} ${shape}`).toEqual([]);
      }
    }
  }, 180_000);

  it('sizes the capacity for the unchanged timetable, and the what-if of that capacity needs no shift', () => {
    const need = plan.capacityNeeded.filter((c) => c.peak > plan.target);
    expect(need.map((c) => c.scope).sort()).toEqual(['hec', 'law', 'medicine']);
    const extra = Math.max(...need.map((c) => c.serversNeeded - c.currentServers));
    const more = buildPlan({ exams: schedule(DAY), capacity: configuredCapacity(1), profiles: null, risk, whatIfs: [parseWhatIf(`capacity=+${extra} servers`)] });
    expect(proposedChanges(more)).toEqual([]);
    expect(more.flags.filter((f) => !f.scope.startsWith('platform'))).toEqual([]);
    // Fewer servers than needed still leaves flags.
    const less = buildPlan({ exams: schedule(DAY), capacity: configuredCapacity(1), profiles: null, risk, whatIfs: [parseWhatIf('capacity=+1 servers')] });
    expect(less.flags.length).toBeGreaterThan(0);
  }, 60_000);

  it('applies shift what-ifs and rejects unknown exams and bad syntax', () => {
    const w = buildPlan({ exams: schedule(DAY), capacity: configuredCapacity(1), profiles: null, risk, whatIfs: [parseWhatIf('shift=med-phys-b2:+15m')] });
    const orig = schedule(DAY).find((e) => e.id === 'med-phys-b2')!;
    expect(w.exams.find((e) => e.id === 'med-phys-b2')!.start).toBe(orig.start + 15 * 60_000);
    expect(parseWhatIf('shift=x:-1h')).toMatchObject({ kind: 'shift', minutes: -60 });
    expect(parseWhatIf('capacity=+2 servers@law')).toMatchObject({ kind: 'servers', extra: 2, faculty: 'law' });
    expect(() => parseWhatIf('capacity=lots')).toThrow(/capacity=lots/);
    expect(() => buildPlan({ exams: schedule(DAY), capacity: configuredCapacity(1), profiles: null, risk, whatIfs: [parseWhatIf('shift=nope:+5m')] })).toThrow(/nope/);
  });

  it('writes a CSV of every exam with its proposed start, a summary and an HTML page with charts', () => {
    const rows = formatPlanCsv(plan).trim().split('\n');
    expect(rows[0]).toBe('exam_id,faculty,enrolled,duration_min,current_start,proposed_start,shift_min');
    expect(rows).toHaveLength(1 + schedule(DAY).length);
    for (const c of proposedChanges(plan)) expect(rows.find((r) => r.startsWith(`${c.id},`))).toContain(`,${new Date(c.to).toISOString()},${c.minutes}`);
    const text = formatPlanText(plan);
    expect(text).toMatch(/RISK\s+09:00\s+medicine/);
    expect(text).toMatch(/load profiles: .*medicine: defaults/);
    const html = renderPlanHtml(plan);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(plan.before.faculties.length + 1);
  });
});

describe('plan with exams assigned to servers', () => {
  it('forecasts and flags the server an exam is assigned to', () => {
    const exams = schedule(DAY).map((e) => (e.faculty === 'engineering' ? { ...e, server: 'engineering-app-1' } : e));
    const p = buildPlan({ exams, capacity: configuredCapacity(1), profiles: null, risk: { observations: [], source: 'none' } });
    const s1 = p.before.servers.find((s) => s.server === 'engineering-app-1')!;
    const s2 = p.before.servers.find((s) => s.server === 'engineering-app-2')!;
    // Both engineering exams on one server: it carries them, the other only browsing students.
    expect(Math.max(...s1.load.sessions)).toBeGreaterThan(800);
    expect(Math.max(...s2.load.sessions)).toBeLessThan(100);
    expect(p.flags.some((f) => f.scope === 'engineering-app-1')).toBe(true);
    expect(p.flags.some((f) => f.scope === 'engineering')).toBe(false);
    expect(() => buildPlan({ exams: [{ ...exams[0]!, server: 'nowhere-1' }], capacity: configuredCapacity(1), profiles: null, risk: { observations: [], source: 'none' } })).toThrow(/nowhere-1/);
  });
});
