/**
 * Runs Prometheus' PromQL test scripts against Vigie's evaluator and prints the per-file
 * table; `--update` rewrites the checked-in expectations file (review the diff: a new
 * pass or a regression shows there), `--json FILE` saves the table and every outcome.
 *
 *   node test/conformance/promqltest.ts [--update] [--json out.json]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runScript, tableMarkdown, tabulate, type CaseResult } from '../support/promqltest.ts';
import { EXPECTATIONS_FILE, expectationsOf, loadScripts, prometheusModuleDir, type Expectations } from '../support/promqltestFiles.ts';

const args = process.argv.slice(2);
const dir = prometheusModuleDir();
const results: Record<string, CaseResult[]> = {};
for (const [name, src] of loadScripts(dir)) results[name] = runScript(src, name);
const table = tabulate(results);
console.log(tableMarkdown(table));
const module = `github.com/prometheus/prometheus@${/@(v[^/]+)/.exec(dir)?.[1] ?? 'unknown'}`;
if (args.includes('--update')) {
  const previous = existsSync(EXPECTATIONS_FILE) ? (JSON.parse(readFileSync(EXPECTATIONS_FILE, 'utf8')) as Expectations) : undefined;
  writeFileSync(EXPECTATIONS_FILE, JSON.stringify(expectationsOf(module, results, previous), null, 1) + '\n');
  console.log(`wrote ${EXPECTATIONS_FILE}`);
}
const j = args.indexOf('--json');
if (j >= 0) writeFileSync(args[j + 1]!, JSON.stringify({ module, table, results }, null, 1) + '\n');
