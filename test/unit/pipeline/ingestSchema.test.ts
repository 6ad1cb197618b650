import { describe, expect, it } from 'vitest';
import { loadMigrations, renderMigration } from '../../../schema/migrate.ts';
import { TABLES } from '../../../schema/tables.ts';

const ingest = () => {
  const m = loadMigrations().find((x) => x.name.endsWith('_samples_ingest'));
  if (!m) throw new Error('no samples_ingest migration');
  return m;
};

describe('exactly-once ingest migration', () => {
  it('is numbered after 005 and names the tables of tables.ts', () => {
    expect(ingest().version).toBeGreaterThanOrEqual(6);
    const ddl = renderMigration(ingest().sql, { database: 'vigie' }).join('\n');
    for (const t of [TABLES.samplesIngest, TABLES.samplesIngestMv, TABLES.ingestOffsets]) expect(ddl).toMatch(new RegExp(`vigie\\.${t}\\b`));
  });

  it('embedded: the staging table is the root of the insert, the view copies to samples', () => {
    const stmts = renderMigration(ingest().sql, { database: 'vigie' });
    expect(stmts).toHaveLength(3);
    const [table, mv, view] = stmts as [string, string, string];
    expect(table).toContain('ENGINE = ReplacingMergeTree(source_offset)');
    expect(table).toContain('ORDER BY (source_topic, source_partition)');
    expect(table).toContain('non_replicated_deduplication_window');
    expect(mv).toMatch(/samples_ingest_mv\s+TO vigie\.samples\n[\s\S]*FROM vigie\.samples_ingest$/);
    expect(view).toMatch(/^CREATE VIEW IF NOT EXISTS vigie\.ingest_offsets/m);
    expect(stmts.join('\n')).not.toMatch(/ON CLUSTER|Replicated|Distributed|_local|\{\{/);
  });

  it('cluster: Replicated local table, Distributed by Kafka partition, views on local tables, all ON CLUSTER', () => {
    const stmts = renderMigration(ingest().sql, { database: 'vigie', cluster: 'campus' });
    expect(stmts).toHaveLength(4);
    for (const s of stmts) expect(s).toContain('ON CLUSTER campus');
    const ddl = stmts.join('\n');
    expect(ddl).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', source_offset)");
    expect(ddl).toContain("ENGINE = Distributed('campus', vigie, samples_ingest_local, source_partition)");
    // Rows and offsets of one partition commit on one shard: the view reads and writes local tables.
    expect(ddl).toMatch(/samples_ingest_mv ON CLUSTER campus\nTO vigie\.samples_local\n[\s\S]*FROM vigie\.samples_ingest_local/);
    // The high-water mark is read across shards.
    expect(ddl).toMatch(/ingest_offsets ON CLUSTER campus\nAS SELECT[\s\S]*FROM vigie\.samples_ingest\n/);
  });
});
