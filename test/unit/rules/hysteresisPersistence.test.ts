import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../../../core/samples.ts';
import { createRuleEngine, type AlertTransition, type RuleEngine } from '../../../rules/engine.ts';
import { parseRuleFile } from '../../../rules/ruleFile.ts';
import { createSeriesStore, type SeriesStore } from '../../../rules/windows.ts';
import { createStatePersister, decodeSnapshot, encodeSnapshot, readStateFile, StateFileError, writeStateFile } from '../../../rules/statePersistence.ts';
import { T0 } from './helpers.ts';

const STEP = 15_000;
const RULES = `
groups:
  - name: g
    rules:
      - alert: Hot
        expr: util > 0.9
        for: 1m
        keep_firing_while: util > 0.8
        labels: { severity: page }
        annotations: { summary: '{{ $labels.faculty }} at {{ $value }}' }
      - alert: Plain
        expr: util > 0.9
        labels: { severity: warning }
`;

/** Drives an engine over a utilization curve, one evaluation per 15 s. */
function drive(engine: RuleEngine, store: SeriesStore, util: (i: number) => number, from: number, to: number): AlertTransition[] {
  const out: AlertTransition[] = [];
  for (let i = from; i < to; i++) {
    const t = T0 + i * STEP;
    const s: Sample = { metric: 'util', labels: { faculty: 'med' }, timestampMs: t, value: util(i) };
    store.add([s]);
    out.push(...engine.evaluate(t).transitions);
  }
  return out;
}

describe('keep_firing_while hysteresis', () => {
  it('keeps a firing alert while the looser condition holds and resolves below it', () => {
    const groups = parseRuleFile(RULES);
    const store = createSeriesStore({ retentionMs: 3_600_000 });
    const engine = createRuleEngine({ groups, store });
    // 0.95 for 2 min, then 0.85 (between the thresholds) for 3 min, then 0.5.
    const util = (i: number) => (i < 8 ? 0.95 : i < 20 ? 0.85 : 0.5);
    const tr = drive(engine, store, util, 0, 30);
    const hot = tr.filter((t) => t.rule === 'Hot').map((t) => [t.state, (t.at - T0) / STEP]);
    expect(hot).toEqual([
      ['pending', 0],
      ['firing', 4],
      ['resolved', 20],
    ]);
    // Without hysteresis the same condition flaps off at once.
    const plain = tr.filter((t) => t.rule === 'Plain').map((t) => [t.state, (t.at - T0) / STEP]);
    expect(plain).toEqual([
      ['firing', 0],
      ['resolved', 8],
    ]);
  });

  it('does not hold a pending alert, and rejects keep_firing_while on recording rules', () => {
    const groups = parseRuleFile(RULES);
    const store = createSeriesStore({ retentionMs: 3_600_000 });
    const engine = createRuleEngine({ groups, store });
    const tr = drive(engine, store, (i) => (i < 2 ? 0.95 : 0.85), 0, 10);
    expect(tr.filter((t) => t.rule === 'Hot').map((t) => t.state)).toEqual(['pending', 'inactive']);
    expect(() => parseRuleFile('groups: [{name: g, rules: [{record: x, expr: "1", keep_firing_while: "1"}]}]')).toThrow(/keep_firing_while/);
    expect(() => parseRuleFile('groups: [{name: g, rules: [{alert: x, expr: "1", keep_firing_while: "rate(x)"}]}]')).toThrow(/keep_firing_while/);
  });
});

describe('alert state persistence', () => {
  const util = (i: number) => (i < 2 ? 0.5 : 0.95);

  it('a restarted evaluator neither re-pages nor forgets firing state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigie-state-'));
    const path = join(dir, 'alerts-state.json');
    const groups = parseRuleFile(RULES);
    const store = createSeriesStore({ retentionMs: 3_600_000 });
    const a = createRuleEngine({ groups, store });
    const persister = createStatePersister({ path, engine: a });
    let writes = 0;
    const all: AlertTransition[] = [];
    for (let i = 0; i < 12; i++) {
      const t = T0 + i * STEP;
      store.add([{ metric: 'util', labels: { faculty: 'med' }, timestampMs: t, value: util(i) }]);
      const r = a.evaluate(t);
      all.push(...r.transitions);
      if (persister.afterEvaluation(r)) writes++;
    }
    expect(all.filter((t) => t.rule === 'Hot').map((t) => t.state)).toEqual(['pending', 'firing']);
    // Written only when state changed: pending, firing (Hot), firing (Plain) in the same evaluation.
    expect(writes).toBe(2);
    expect(readdirSync(dir)).toEqual(['alerts-state.json']); // no temp file left behind

    // "Restart": a new engine and a new store (the window is refilled by the tap).
    const snap = readStateFile(path, { nowMs: T0 + 12 * STEP })!;
    const store2 = createSeriesStore({ retentionMs: 3_600_000 });
    const b = createRuleEngine({ groups, store: store2, initialState: snap });
    expect(b.activeAlerts().map((x) => [x.rule, x.state]).sort()).toEqual([
      ['Hot', 'firing'],
      ['Plain', 'firing'],
    ]);
    const after = drive(b, store2, util, 12, 20);
    expect(after).toEqual([]); // no second page
    const resolved = drive(b, store2, () => 0.5, 20, 22);
    expect(resolved.filter((t) => t.rule === 'Hot').map((t) => t.state)).toEqual(['resolved']);
    expect(resolved.find((t) => t.rule === 'Hot')!.activeAt).toBe(T0 + 2 * STEP); // original activeAt kept
  });

  it('keeps pending progress across a restart: fires at the original activeAt + for', () => {
    const groups = parseRuleFile(RULES);
    const store = createSeriesStore({ retentionMs: 3_600_000 });
    const a = createRuleEngine({ groups, store });
    drive(a, store, util, 0, 4); // pending since step 2
    const snap = decodeSnapshot(encodeSnapshot(a.snapshot()));
    const store2 = createSeriesStore({ retentionMs: 3_600_000 });
    const b = createRuleEngine({ groups, store: store2, initialState: snap });
    const tr = drive(b, store2, util, 4, 8).filter((t) => t.rule === 'Hot');
    expect(tr.map((t) => [t.state, (t.at - T0) / STEP])).toEqual([['firing', 6]]);
  });

  it('round-trips non-finite values, ignores stale snapshots and names the file of a corrupt one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigie-state-'));
    const path = join(dir, 's.json');
    writeStateFile(path, {
      version: 1,
      savedAt: T0,
      alerts: [{ group: 'g', rule: 'Hot', occurrence: 0, fingerprint: '1', labels: {}, annotations: {}, state: { kind: 'pending', activeAt: T0, value: Infinity, labels: {} } }],
    });
    expect(readFileSync(path, 'utf8')).toContain('"+Inf"');
    expect(readStateFile(path)!.alerts[0]!.state.value).toBe(Infinity);
    expect(readStateFile(path, { nowMs: T0 + 2 * 3_600_000 })).toBeUndefined();
    expect(readStateFile(join(dir, 'missing.json'))).toBeUndefined();
    writeFileSync(path, '{"version":1,"savedAt":"x"');
    expect(() => readStateFile(path)).toThrow(StateFileError);
    expect(() => readStateFile(path)).toThrow(/s\.json/);
    expect(existsSync(path)).toBe(true);
  });

  it('drops state of rules that no longer exist', () => {
    const groups = parseRuleFile(RULES);
    const b = createRuleEngine({
      groups,
      store: createSeriesStore(),
      initialState: {
        version: 1,
        savedAt: T0,
        alerts: [{ group: 'g', rule: 'Gone', occurrence: 0, fingerprint: '1', labels: {}, annotations: {}, state: { kind: 'pending', activeAt: T0, value: 1, labels: {} } }],
      },
    });
    expect(b.activeAlerts()).toEqual([]);
  });
});
