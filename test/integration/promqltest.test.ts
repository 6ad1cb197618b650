/**
 * Prometheus' own PromQL test scripts (`promql/promqltest/testdata/*.test` of the
 * Prometheus 3 Go module, fetched through the Go module proxy by
 * `scripts/prometheus3.sh --module`, cached) run against Vigie's evaluator, one test per
 * script. Each case's outcome (pass / wrong / refused / skipped) must be the one
 * recorded in `test/conformance/promqltest-expectations.json`: a regression or a new
 * pass shows up as a failure naming the case, never as silence. After an intended
 * change, `node test/conformance/promqltest.ts --update` rewrites the file
 * (review its diff). A missing Go toolchain or module fails the suite.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScript, tableMarkdown, tabulate, type CaseResult } from '../support/promqltest.ts';
import { EXPECTATIONS_FILE, loadScripts, prometheusModuleDir, type Expectations } from '../support/promqltestFiles.ts';

const scripts = loadScripts(prometheusModuleDir());
const expectations = JSON.parse(readFileSync(EXPECTATIONS_FILE, 'utf8')) as Expectations;
const results: Record<string, CaseResult[]> = {};

describe('Prometheus promqltest scripts', () => {
  it('finds the 22 scripts of Prometheus 3', () => {
    expect(scripts.size).toBeGreaterThanOrEqual(22);
    expect(expectations.module).toMatch(/^github\.com\/prometheus\/prometheus@v0\.3/);
  });

  it.each([...scripts.keys()])('%s: every case has its recorded outcome', (name) => {
    const rs = runScript(scripts.get(name)!, name);
    results[name] = rs;
    expect(rs.length).toBeGreaterThan(0);
    const diffs: string[] = [];
    for (const r of rs) {
      const want = expectations.cases[r.id]?.status ?? 'pass';
      if (r.status !== want) diffs.push(`${r.id} \`${r.expr}\`: recorded ${want}, now ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
    }
    for (const id of Object.keys(expectations.cases)) {
      if (id.startsWith(`${name}:`) && !rs.some((r) => r.id === id)) diffs.push(`${id}: recorded but no such case`);
    }
    expect(diffs).toEqual([]);
  });

  it('no case gives a wrong answer (but where the test engine enables a feature flag a stock server lacks)', () => {
    const table = tabulate(results);
    console.info(`promqltest outcomes (${expectations.module}):\n${tableMarkdown(table)}`);
    const all = Object.values(results).flat();
    const wrong = all.filter((r) => r.status === 'wrong' && !expectations.cases[r.id]?.semantics).map((r) => `${r.id} \`${r.expr}\`: ${r.reason}`);
    expect(wrong).toEqual([]);
    // The flag-only differences stay few and are all delayed name removal.
    const flagged = all.filter((r) => r.status === 'wrong');
    expect(flagged.length).toBeLessThanOrEqual(10);
    for (const r of flagged) expect(expectations.cases[r.id]?.semantics).toBe('promql-delayed-name-removal');
  });

  it('passes at least 90 % of the cases that are not skipped', () => {
    const all = Object.values(results).flat();
    const considered = all.filter((r) => r.status !== 'skipped');
    const passed = considered.filter((r) => r.status === 'pass').length;
    console.info(`promqltest: ${passed}/${considered.length} non-skipped cases pass (${((100 * passed) / considered.length).toFixed(1)} %)`);
    expect(passed / considered.length).toBeGreaterThanOrEqual(0.9);
  });
});
