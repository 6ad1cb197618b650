/**
 * The scale-out flags of `vigie ingest` refuse, before touching Kafka or storage, the
 * set-ups that would lose data or evaluate nothing: a rules-only evaluator without rules,
 * and one joining the storage consumer group (it would take partitions from the storage
 * instances and commit them unstored).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const PACK = fileURLToPath(new URL('../../rules/packs/default.yml', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'vigie-scaleout-flags-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const vigie = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });

describe('vigie ingest scale-out flags', () => {
  it('--rules-only without a rule file is refused with exit 2', () => {
    const r = vigie('ingest', '--kafka', '127.0.0.1:1', '--rules-only', '--metrics-port', '0');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--rules-only needs a rule file');
  });

  it('--rules-only in the storage group is refused, naming the group', () => {
    const r = vigie('ingest', '--kafka', '127.0.0.1:1', '--rules-only', '--rules', PACK, '--group', 'vigie-pipeline', '--metrics-port', '0');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('group "vigie-pipeline" is the storage group');
  });

  it('documents the modes in --help, and `store serve` has its own', () => {
    const help = vigie('ingest', '--help');
    expect(help.stdout).toContain('--no-rules');
    expect(help.stdout).toContain('--rules-only');
    const store = vigie('store', 'serve', '--help');
    expect(store.status).toBe(0);
    expect(store.stdout).toContain('Usage: vigie store serve');
  });

  it('`store ddl` prints the schema for one server, and ON CLUSTER with Replicated and Distributed tables for a cluster', () => {
    const one = vigie('store', 'ddl');
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/CREATE TABLE IF NOT EXISTS vigie\.samples_ingest\s*\n/);
    expect(one.stdout).not.toMatch(/ON CLUSTER|Distributed|Replicated/);
    const cluster = vigie('store', 'ddl', '--cluster', 'campus', '--database', 'vigie');
    expect(cluster.status, cluster.stderr).toBe(0);
    expect(cluster.stdout).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', source_offset)");
    expect(cluster.stdout).toContain("ENGINE = Distributed('campus', vigie, samples_ingest_local, source_partition)");
    expect(cluster.stdout).toContain('-- migration 009_alerts_log_dedup');
  });
});
