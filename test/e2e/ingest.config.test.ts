/**
 * Issue 11, item 5 (and the CLI input part), as an operator runs `vigie ingest`: every
 * key of `--config` is honoured — the self-metrics port, host and token, the ClickHouse
 * user and password (the password from the environment) — and a bad rule file stops the
 * process before it listens or touches the database.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/daemon.ts';
import { kafkaBrokers, uniqueTopic } from '../integration/support/kafka.ts';
import { waitUntil } from '../integration/support-pipeline/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vigie-ingest-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigie ingest --config', () => {
  it('passes the ClickHouse credentials on and serves self-metrics where and how the file says', async () => {
    // A stand-in ClickHouse HTTP endpoint that records who asks and never answers:
    // ingest is held in its first query, with its self-metrics endpoint already up.
    const seen: IncomingHttpHeaders[] = [];
    const ch = createServer((req) => void seen.push(req.headers));
    await new Promise<void>((r) => ch.listen(0, '127.0.0.1', r));
    const chPort = (ch.address() as AddressInfo).port;
    const metricsPort = await freePort();
    const token = 'scrape-token-0123456789';
    const config = join(dir, 'vigie.yml');
    writeFileSync(
      config,
      [
        'clickhouse:',
        `  url: http://127.0.0.1:${chPort}`,
        '  username: vigie_writer',
        'selfTelemetry:',
        `  port: ${metricsPort}`,
        '  host: 127.0.0.1',
        `  bearerToken: ${token}`,
        'kafka:',
        `  brokers: ["${kafkaBrokers()[0]}"]`,
        `  topic: ${uniqueTopic('vigie.test.cfg')}`,
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, '--config', config, 'ingest'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VIGIE_CLICKHOUSE_PASSWORD: 'from-the-env' },
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      await waitUntil(() => seen.length > 0 || child.exitCode !== null, 120_000, 'the first ClickHouse request');
      expect(seen[0]?.authorization, err).toBe('Basic ' + Buffer.from('vigie_writer:from-the-env').toString('base64'));
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('target_info');
      expect(err).toContain(`self-metrics at http://127.0.0.1:${metricsPort}/metrics`);
    } finally {
      child.kill('SIGKILL');
      ch.closeAllConnections();
      ch.close();
    }
  });

  it('rejects a bad rule file before it listens, migrates or creates the database directory', async () => {
    const rules = join(dir, 'bad.yml');
    writeFileSync(rules, 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: frobnicate(x)\n');
    const chdb = join(dir, 'never-created');
    const child = spawn(process.execPath, [BIN, 'ingest', '--kafka', kafkaBrokers()[0]!, '--rules', rules, '--chdb-path', chdb, '--metrics-port', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).not.toBe(0);
    expect(err).toContain('bad.yml');
    expect(err).not.toContain('self-metrics at');
    expect(existsSync(chdb)).toBe(false);
  });
});
