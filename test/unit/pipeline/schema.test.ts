import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, seriesKey } from '../../../core/samples.ts';
import { fastFingerprint } from '../../../pipeline/clickhouseSink.ts';
import { loadMigrations, renderMigration } from '../../../schema/migrate.ts';
import { TABLES } from '../../../schema/tables.ts';

const all = (opts: { database: string; cluster?: string }) => loadMigrations().flatMap((m) => renderMigration(m.sql, opts));

describe('migrations', () => {
  it('are numbered, ordered and create every table of tables.ts', () => {
    const ms = loadMigrations();
    expect(ms.map((m) => m.version)).toEqual([...ms.map((m) => m.version)].sort((a, b) => a - b));
    const ddl = all({ database: 'vigie' }).join('\n');
    for (const t of [TABLES.series, TABLES.samples, TABLES.samples1m, TABLES.samples1mMv, TABLES.alertsLog, TABLES.counters1m, TABLES.counters1mMv]) {
      expect(ddl).toMatch(new RegExp(`vigie\\.${t}\\b`));
    }
  });

  it('embedded mode: plain MergeTree engines, no ON CLUSTER, no Distributed', () => {
    const ddl = all({ database: 'vigie' }).join('\n');
    expect(ddl).not.toMatch(/ON CLUSTER|Replicated|Distributed|_local|\{\{/);
    expect(ddl).toContain('ENGINE = ReplacingMergeTree(first_seen)');
    expect(ddl).toContain('ENGINE = AggregatingMergeTree');
    expect(ddl).toContain('non_replicated_deduplication_window = 1000');
    expect(ddl).toMatch(/TTL toDateTime\(timestamp\) \+ INTERVAL 30 DAY/);
  });

  it('cluster mode: ON CLUSTER everywhere, Replicated local tables, Distributed tables under the public names', () => {
    const stmts = all({ database: 'vigie', cluster: 'campus' });
    for (const s of stmts) expect(s).toContain('ON CLUSTER campus');
    const ddl = stmts.join('\n');
    expect(ddl).not.toMatch(/\{\{|ENGINE = (MergeTree|ReplacingMergeTree|AggregatingMergeTree)\b/);
    expect(ddl).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', first_seen)");
    expect(ddl).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')");
    expect(ddl).toContain("ENGINE = ReplicatedAggregatingMergeTree(");
    for (const t of [TABLES.series, TABLES.samples, TABLES.samples1m, TABLES.alertsLog, TABLES.counters1m]) {
      expect(ddl).toContain(`CREATE TABLE IF NOT EXISTS vigie.${t} ON CLUSTER campus\nAS vigie.${t}_local\nENGINE = Distributed('campus', vigie, ${t}_local,`);
    }
    // The rollup view reads and writes local tables, so each shard rolls up its own rows.
    expect(ddl).toMatch(/samples_1m_mv ON CLUSTER campus\nTO vigie\.samples_1m_local[\s\S]*FROM vigie\.samples_local/);
    // 007: counter increases roll up per shard; the staging view is re-created with the new columns;
    // the new columns are added to the local and the Distributed tables alike.
    expect(ddl).toMatch(/counters_1m_mv ON CLUSTER campus\nTO vigie\.counters_1m_local[\s\S]*FROM vigie\.samples_local/);
    expect(ddl).toMatch(/samples_ingest_mv ON CLUSTER campus\nTO vigie\.samples_local\nAS SELECT [^\n]*delta, le, status_code, exam_id\nFROM vigie\.samples_ingest_local/);
    for (const t of ['samples', 'samples_local', 'samples_ingest', 'samples_ingest_local']) {
      expect(ddl).toMatch(new RegExp(`ALTER TABLE vigie\\.${t} ON CLUSTER campus\\n\\s+ADD COLUMN IF NOT EXISTS delta`));
    }
  });

  it('refuses identifiers that would inject SQL', () => {
    expect(() => all({ database: 'vigie; DROP TABLE x' })).toThrow(/not a plain identifier/);
  });
});

describe('fastFingerprint', () => {
  it('equals core fingerprint()', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string({ minLength: 1 }), fc.string({ unit: 'binary' })), (metric, labels) => {
        expect(fastFingerprint(seriesKey(metric, labels))).toBe(fingerprint(metric, labels));
      }),
      { numRuns: 2000 },
    );
  });
});
