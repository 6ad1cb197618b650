/**
 * Writes the generated dashboards and Grafana provisioning under one directory:
 * `dashboards/vigie-{overview,faculty,exam-morning,pipeline-health}.json`, `provisioning/datasources/vigie.yaml`,
 * `provisioning/dashboards/vigie.yaml`. Output is byte-stable for the same options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildExamMorningDashboard } from './examMorning.ts';
import { buildFacultyDashboard } from './faculty.ts';
import { buildOverviewDashboard } from './overview.ts';
import { buildPipelineHealthDashboard } from './pipelineHealth.ts';
import {
  dashboardProviderYaml,
  datasourceYaml,
  parseProvisioningOptions,
  type ProvisioningOptionsInput,
  DEFAULT_DASHBOARDS_PATH,
} from './provisioning.ts';

/** Options of {@link buildDashboards}. */
export interface BuildDashboardsOptions extends Omit<ProvisioningOptionsInput, 'dashboardsPath'> {
  /** Directory to write into (created if missing). */
  readonly outDir: string;
  /**
   * Dashboard directory as Grafana sees it; defaults to {@link DEFAULT_DASHBOARDS_PATH},
   * which Grafana expands from its environment, so the files hold no machine's path.
   */
  readonly dashboardsPath?: string;
}

/** Serializes a built dashboard: 2-space JSON with a final newline. */
export function dashboardJson(model: unknown): string {
  return JSON.stringify(model, null, 2) + '\n';
}

/** Generates every dashboard and the provisioning files; returns the written paths, sorted. */
export function buildDashboards(opts: BuildDashboardsOptions): { files: string[] } {
  const outDir = resolve(opts.outDir);
  const { outDir: _ignored, ...rest } = opts;
  const o = parseProvisioningOptions({ ...rest, dashboardsPath: opts.dashboardsPath ?? DEFAULT_DASHBOARDS_PATH });

  const d = { database: o.database, datasourceUid: o.datasourceUid };
  const dash = (name: string, model: unknown): [string, string] => [join(outDir, 'dashboards', `${name}.json`), dashboardJson(model)];
  const outputs: Array<[string, string]> = [
    dash('vigie-overview', buildOverviewDashboard(d).build()),
    dash('vigie-faculty', buildFacultyDashboard(d).build()),
    dash('vigie-exam-morning', buildExamMorningDashboard(d).build()),
    dash('vigie-pipeline-health', buildPipelineHealthDashboard({ ...d, prometheusUid: o.prometheusUid }).build()),
    [join(outDir, 'provisioning', 'datasources', 'vigie.yaml'), datasourceYaml(o)],
    [join(outDir, 'provisioning', 'dashboards', 'vigie.yaml'), dashboardProviderYaml(o)],
  ];
  for (const [path, text] of outputs) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
  return { files: outputs.map(([p]) => p).sort() };
}
