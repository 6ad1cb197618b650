import { describe, expect, it } from 'vitest';
import { loadMigrations, renderMigration } from '../../../schema/migrate.ts';

const m008 = () => loadMigrations().find((m) => m.version === 8)!;
const render = (opts: { database: string; cluster?: string }) =>
  renderMigration(m008().sql, opts).map((s) =>
    s
      .split('\n')
      .filter((l) => !l.trim().startsWith('--'))
      .join('\n'),
  );

describe('migration 008 (exam_schedule start windows, servers, tombstones)', () => {
  it('embedded: one ALTER on the table itself', () => {
    const stmts = render({ database: 'vigie' });
    expect(stmts).toHaveLength(1);
    expect(stmts[0]).toMatch(/^ALTER TABLE vigie\.exam_schedule\s+ADD COLUMN IF NOT EXISTS start_window_ms UInt64 DEFAULT 0,\s+ADD COLUMN IF NOT EXISTS server\s+LowCardinality\(String\) DEFAULT '',\s+ADD COLUMN IF NOT EXISTS deleted\s+UInt8 DEFAULT 0$/);
  });

  it('cluster: the local table and the Distributed one, both ON CLUSTER', () => {
    const stmts = render({ database: 'vigie', cluster: 'campus' });
    expect(stmts.map((s) => s.split('\n')[0])).toEqual(['ALTER TABLE vigie.exam_schedule_local ON CLUSTER campus', 'ALTER TABLE vigie.exam_schedule ON CLUSTER campus']);
  });
});
