/**
 * Locating Prometheus' PromQL test scripts: `scripts/prometheus3.sh --module` fetches
 * the Prometheus Go module through the Go module proxy into Vigie's cache (once per
 * machine) and prints its directory. Shared by the conformance test and the CLI that
 * rewrites the expectations file. A failure to fetch is an error, never a skip.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult, CaseStatus } from './promqltest.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The checked-in expectations: every case that is not a pass, with its status and reason. */
export const EXPECTATIONS_FILE = join(ROOT, 'test', 'conformance', 'promqltest-expectations.json');

/** Shape of the expectations file. */
export interface Expectations {
  readonly module: string;
  /** `file:line` → status (never `pass`) and reason. */
  readonly cases: Record<string, ExpectedCase>;
}

/** One recorded non-pass case. */
export interface ExpectedCase {
  readonly status: Exclude<CaseStatus, 'pass'>;
  readonly expr: string;
  readonly reason: string;
  /**
   * Set by hand on a `wrong` case whose expected answer exists only under a feature flag
   * that Prometheus' test engine turns on and a stock server leaves off (e.g.
   * `promql-delayed-name-removal`); Vigie follows the stock server, and
   * `test/integration/conformance.test.ts` checks that against a real Prometheus 3.
   */
  readonly semantics?: string;
}

/** Directory of the Prometheus module (env `VIGIE_PROMETHEUS3_MODULE_DIR`, else fetched by the script). */
export function prometheusModuleDir(): string {
  const env = process.env['VIGIE_PROMETHEUS3_MODULE_DIR'];
  if (env) return env;
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'prometheus3.sh'), '--module'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /^PROMETHEUS3_MODULE_DIR=(.+)$/m.exec(out);
  if (!m) throw new Error(`scripts/prometheus3.sh --module printed no PROMETHEUS3_MODULE_DIR:\n${out}`);
  return m[1]!;
}

/** The `.test` scripts of the module: name → contents, sorted by name. */
export function loadScripts(moduleDir: string): Map<string, string> {
  const dir = join(moduleDir, 'promql', 'promqltest', 'testdata');
  const names = readdirSync(dir).filter((f) => f.endsWith('.test')).sort();
  if (names.length === 0) throw new Error(`no .test scripts in ${dir}`);
  return new Map(names.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));
}

/**
 * Expectations (the non-pass cases) from run results; a `semantics` note of `previous`
 * is kept while the case keeps its status and expression.
 */
export function expectationsOf(module: string, results: Readonly<Record<string, readonly CaseResult[]>>, previous?: Expectations): Expectations {
  const cases: Expectations['cases'] = {};
  for (const rs of Object.values(results)) {
    for (const r of rs) {
      if (r.status === 'pass') continue;
      const prev = previous?.cases[r.id];
      const keep = prev?.semantics && prev.status === r.status && prev.expr === r.expr;
      cases[r.id] = { status: r.status, expr: r.expr, reason: r.reason ?? '', ...(keep ? { semantics: prev.semantics } : {}) };
    }
  }
  return { module, cases };
}
