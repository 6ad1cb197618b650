/**
 * The generated dashboard and provisioning files: byte-stable, free of secrets, and
 * every panel wired to a ClickHouse query of the right format.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildDashboards,
  buildExamMorningDashboard,
  buildFacultyDashboard,
  buildOverviewDashboard,
  buildPipelineHealthDashboard,
  SELF_METRICS,
  CLICKHOUSE_PLUGIN_TYPE,
  ClickHouseFormat,
  FACULTY_DASHBOARD_UID,
} from '../../../dashboards/index.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'vigie-dash-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const opts = { database: 'vigie', datasourceUid: 'vigie-clickhouse', dashboardsPath: '/var/lib/grafana/dashboards/vigie' };

function readAll(files: string[], root: string): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f.slice(root.length), readFileSync(f, 'utf8')]));
}

/** Every [key, value] pair in a parsed JSON/YAML tree. */
function* entries(node: unknown, key = ''): Generator<[string, unknown]> {
  if (Array.isArray(node)) for (const v of node) yield* entries(v, key);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      yield [k, v];
      yield* entries(v, k);
    }
  }
}

describe('buildDashboards', () => {
  it('writes the same bytes on every build', () => {
    const a = tmp();
    const b = tmp();
    const ra = buildDashboards({ outDir: a, ...opts });
    const rb = buildDashboards({ outDir: b, ...opts });
    expect(ra.files.map((f) => f.slice(a.length))).toEqual([
      '/dashboards/vigie-exam-morning.json',
      '/dashboards/vigie-faculty.json',
      '/dashboards/vigie-overview.json',
      '/dashboards/vigie-pipeline-health.json',
      '/provisioning/dashboards/vigie.yaml',
      '/provisioning/datasources/vigie.yaml',
    ]);
    expect(readAll(rb.files, b)).toEqual(readAll(ra.files, a));
  });

  it('writes no secret: passwords are environment placeholders', () => {
    const out = tmp();
    const { files } = buildDashboards({ outDir: out, ...opts, username: 'grafana_ro' });
    let seen = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const tree: unknown = f.endsWith('.json') ? JSON.parse(text) : parse(text);
      for (const [k, v] of entries(tree)) {
        if (/pass(word)?|secret|token|api_?key/i.test(k) && typeof v !== 'object') {
          seen++;
          expect(String(v)).toMatch(/^\$__env\{[A-Z_][A-Z0-9_]*\}$/);
        }
      }
    }
    expect(seen).toBe(1);
    const ds = parse(readFileSync(join(out, 'provisioning/datasources/vigie.yaml'), 'utf8'));
    expect(ds.datasources[0]).toMatchObject({
      uid: 'vigie-clickhouse',
      type: CLICKHOUSE_PLUGIN_TYPE,
      jsonData: { host: 'localhost', port: 8123, protocol: 'http', defaultDatabase: 'vigie', username: 'grafana_ro' },
      secureJsonData: { password: '$__env{CLICKHOUSE_PASSWORD}' },
    });
    expect(ds.datasources[1]).toMatchObject({ uid: 'vigie-prometheus', type: 'prometheus', url: 'http://localhost:9090' });
    expect(ds.datasources[1]).not.toHaveProperty('secureJsonData');
    const provider = parse(readFileSync(join(out, 'provisioning/dashboards/vigie.yaml'), 'utf8'));
    expect(provider.providers[0].options.path).toBe(opts.dashboardsPath);
  });

  it('holds no path of the machine that built it: Grafana expands the dashboard directory from its environment', () => {
    const out = tmp();
    const { files } = buildDashboards({ outDir: out, database: 'vigie', datasourceUid: 'vigie-clickhouse', host: '127.0.0.1', port: 24123 });
    for (const f of files.filter((x) => x.endsWith('.yaml'))) expect(readFileSync(f, 'utf8')).not.toContain(out);
    const provider = parse(readFileSync(join(out, 'provisioning/dashboards/vigie.yaml'), 'utf8'));
    expect(provider.providers[0].options.path).toBe('$VIGIE_DASHBOARDS_DIR');
    // The data source points at the endpoint the demo/ingest serve, over HTTP.
    const ds = parse(readFileSync(join(out, 'provisioning/datasources/vigie.yaml'), 'utf8'));
    expect(ds.datasources[0].jsonData).toMatchObject({ host: '127.0.0.1', port: 24123, protocol: 'http' });
  });

  it('picks the native port for the native protocol', () => {
    const out = tmp();
    buildDashboards({ outDir: out, ...opts, protocol: 'native', host: 'ch.example.org' });
    const ds = parse(readFileSync(join(out, 'provisioning/datasources/vigie.yaml'), 'utf8'));
    expect(ds.datasources[0].jsonData).toMatchObject({ host: 'ch.example.org', port: 9000, protocol: 'native' });
  });

  it('rejects options that would break the SQL or the YAML, naming the key', () => {
    expect(() => buildDashboards({ outDir: tmp(), ...opts, database: 'vigie; DROP TABLE x' })).toThrow(/database/);
    expect(() => buildDashboards({ outDir: tmp(), ...opts, datasourceUid: 'has space' })).toThrow(/datasourceUid/);
  });
});

describe('faculty dashboard model', () => {
  const model = JSON.parse(JSON.stringify(buildFacultyDashboard({ database: 'vigie', datasourceUid: 'ds1' }).build())) as {
    uid: string;
    panels: Array<Record<string, any>>;
    templating: { list: Array<Record<string, any>> };
    annotations: { list: Array<Record<string, any>> };
  };

  it('has a stable uid and a faculty query variable on the ClickHouse data source', () => {
    expect(model.uid).toBe(FACULTY_DASHBOARD_UID);
    const v = model.templating.list.find((x) => x['name'] === 'faculty')!;
    expect(v['type']).toBe('query');
    expect(v['datasource']).toEqual({ type: CLICKHOUSE_PLUGIN_TYPE, uid: 'ds1' });
    expect(v['query']).toMatch(/^SELECT DISTINCT faculty FROM `vigie`\.`series`/);
  });

  it('gives every panel a unique id and a ClickHouse SQL query of the matching format', () => {
    const ids = model.panels.map((p) => p['id']);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const p of model.panels) {
      expect(p['datasource']).toEqual({ type: CLICKHOUSE_PLUGIN_TYPE, uid: 'ds1' });
      expect(p['targets']).toHaveLength(1);
      const t = p['targets'][0];
      expect(t).toMatchObject({ refId: 'A', editorType: 'sql', datasource: { type: CLICKHOUSE_PLUGIN_TYPE, uid: 'ds1' } });
      expect(t.rawSql).toContain('${faculty:singlequote}');
      expect(t.rawSql).not.toMatch(/\bFROM `vigie`\.`samples`/); // rollups only, never raw samples
      if (p['type'] === 'timeseries') {
        expect(t).toMatchObject({ queryType: 'timeSeries', format: ClickHouseFormat.timeSeries });
        expect(t.rawSql).toMatch(/^SELECT[\s\S]*\btime\b/);
        expect(t.rawSql).not.toContain('_seconds_'); // exporter 0.223 adds no unit suffix
        expect(t.rawSql).toContain('$__timeInterval(minute)');
        expect(p['options'].legend.showLegend).toBe(true);
        expect(p['interval']).toBe('1m');
      } else {
        expect(t).toMatchObject({ queryType: 'table', format: ClickHouseFormat.table });
      }
    }
  });

  it('annotates alert transitions from alerts_log', () => {
    const a = model.annotations.list.find((x) => x['name'] === 'Alerts')!;
    expect(a['target'].rawSql).toContain('`vigie`.`alerts_log`');
    expect(a['target'].format).toBe(ClickHouseFormat.table);
  });

  it('lays panels out without overlap', () => {
    const boxes = model.panels.map((p) => p['gridPos'] as { x: number; y: number; w: number; h: number });
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap).toBe(false);
      }
    }
  });
});

describe('all four dashboards', () => {
  const o = { database: 'vigie', datasourceUid: 'ds1' };
  const models = [
    buildOverviewDashboard(o).build(),
    buildFacultyDashboard(o).build(),
    buildExamMorningDashboard(o).build(),
    buildPipelineHealthDashboard({ ...o, prometheusUid: 'prom1' }).build(),
  ].map((m) => JSON.parse(JSON.stringify(m)) as { uid: string; title: string; panels: Array<Record<string, any>>; templating: { list: Array<Record<string, any>> } });

  it('have distinct uids and unique panel ids, laid out without overlap', () => {
    expect(new Set(models.map((m) => m.uid)).size).toBe(4);
    for (const m of models) {
      const ids = m.panels.map((p) => p['id']);
      expect(new Set(ids).size, m.uid).toBe(ids.length);
      const boxes = m.panels.map((p) => p['gridPos'] as { x: number; y: number; w: number; h: number });
      boxes.forEach((a, i) =>
        boxes.slice(i + 1).forEach((b) => {
          expect(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h, `${m.uid} overlap`).toBe(false);
          expect(a.x + a.w).toBeLessThanOrEqual(24);
        }),
      );
    }
  });

  it('wire ClickHouse panels to the ClickHouse uid and self-metric panels to the Prometheus variable', () => {
    const health = models.find((m) => m.uid === 'vigie-pipeline-health')!;
    const v = health.templating.list.find((x) => x['name'] === 'prometheus')!;
    expect(v).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: 'prom1' } });
    const exprs: string[] = [];
    for (const m of models) {
      for (const p of m.panels) {
        for (const t of p['targets']) {
          if (p['datasource'].type === 'prometheus') {
            expect(p['datasource'].uid).toBe('${prometheus}');
            expect(t.datasource.uid).toBe('${prometheus}');
            exprs.push(t.expr);
          } else {
            expect(t.datasource).toEqual({ type: CLICKHOUSE_PLUGIN_TYPE, uid: 'ds1' });
            expect(t.rawSql).not.toMatch(/\bFROM `vigie`\.`samples`/);
          }
        }
      }
    }
    const text = exprs.join('\n');
    for (const name of Object.values(SELF_METRICS)) expect(text).toContain(name);
  });

  it('query only self-metrics that some Vigie instrument exports (Prometheus exporter naming)', () => {
    // Instruments are created as meter.createX('dotted.name'); the exporter turns dots
    // into underscores and adds _total (counters) or _bucket (histograms), no unit suffix.
    const root = join(import.meta.dirname, '../../..');
    const exported = new Set<string>();
    for (const dir of ['pipeline', 'rules', 'paging', 'collectors', 'cli', 'core']) {
      for (const f of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
        if (!f.endsWith('.ts')) continue;
        for (const m of readFileSync(join(root, dir, f), 'utf8').matchAll(/create(Counter|Histogram|ObservableGauge|UpDownCounter|Gauge)\(\s*'([^']+)'/g)) {
          const base = m[2]!.replaceAll('.', '_');
          exported.add(m[1] === 'Counter' ? `${base}_total` : m[1] === 'Histogram' ? `${base}_bucket` : base);
        }
      }
    }
    for (const name of Object.values(SELF_METRICS)) expect(exported, name).toContain(name);
  });

  it('annotate exam starts from exam_schedule on the exam-morning dashboard', () => {
    const exam = buildExamMorningDashboard(o).build() as unknown as { annotations: { list: Array<Record<string, any>> } };
    const names = exam.annotations.list.map((a) => a['name']);
    expect(names).toEqual(expect.arrayContaining(['Exam starts', 'Alerts']));
    const starts = exam.annotations.list.find((a) => a['name'] === 'Exam starts')!;
    expect(starts['target'].rawSql).toContain('`vigie`.`exam_schedule`');
  });
});
