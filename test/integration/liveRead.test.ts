/**
 * Reading a running `vigie ingest`, as a user would from another terminal: the bin's
 * `ingest` holds the embedded chDB directory and consumes a morning from the real Kafka
 * broker; `vigie postmortem` and `vigie query`, started as their own processes while it
 * runs, find its read endpoint through the directory's endpoint file and report the live
 * data. Once ingest stops, the same commands open the directory themselves.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_FILE, readEndpointFile } from '../../pipeline/endpointFile.ts';
import { runMorning } from '../../simulator/index.ts';
import { createTransport } from '../../transport/index.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';

const exec = promisify(execFile);
const ROOT = process.cwd();
const BIN = join(ROOT, 'bin', 'vigie.mjs');
const dir = mkdtempSync(join(tmpdir(), 'vigie-liveread-'));
const chdb = join(dir, 'chdb');
const topic = uniqueTopic('vigie.liveread');
// A short morning dated just before now: the pipeline validates timestamps against the wall clock.
const start = Math.floor((Date.now() - 40 * 60_000) / 60_000) * 60_000;
const durationMs = 20 * 60_000;
const from = new Date(start).toISOString();
const to = new Date(start + durationMs).toISOString();

let ingest: ChildProcess;
let ingestErr = '';
let exported = 0;

/** `vigie …` as its own process, from the repository root. */
function vigie(...argv: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [BIN, ...argv], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
}

async function until<T>(what: string, probe: () => Promise<T | null> | T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ingest stderr:\n${ingestErr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  const config = join(dir, 'vigie.yml');
  writeFileSync(config, `kafka:\n  brokers: [${kafkaBrokers().join(', ')}]\n  topic: ${topic}\n  groupId: ${topic}.group\nclickhouse:\n  chdbPath: ${chdb}\n`);
  ingest = spawn(process.execPath, [BIN, '--config', config, 'ingest', '--http-port', '0', '--metrics-port', '0', '--state', join(dir, 'state.json'), '--outbox', join(dir, 'outbox')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  ingest.stderr!.on('data', (d: Buffer) => (ingestErr += d.toString()));
  const info = await until('the endpoint file', () => readEndpointFile(chdb), 120_000);
  expect(info.pid).toBe(ingest.pid);

  const transport = createTransport({ kafkaBrokers: kafkaBrokers(), clientId: 'vigie-liveread-test' });
  await transport.ensureTopics([{ name: topic, partitions: 4 }]);
  const producer = transport.producer();
  await producer.connect();
  try {
    const truth = await runMorning({ start, durationMs, seed: 7, capacity: 1, compression: Infinity }, { producer, topic });
    exported = truth.exportedSamples;
  } finally {
    await producer.disconnect();
  }
  // Wait (through the endpoint, as any reader would) until ingest stored the whole morning.
  const client = createClient({ url: info.url, database: 'vigie' });
  try {
    await until(
      'ingest to store the morning',
      async () => {
        const rs = await client.query({ query: 'SELECT count() AS n FROM samples', format: 'JSONEachRow' }).catch(() => null);
        const n = rs ? Number((await rs.json<{ n: string }>())[0]?.n ?? 0) : 0;
        return n >= exported ? n : null;
      },
      240_000,
    );
  } finally {
    await client.close();
  }
}, 600_000);

afterAll(async () => {
  if (ingest && ingest.exitCode === null) {
    ingest.kill('SIGTERM');
    await new Promise((r) => ingest.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('reading a running vigie ingest', () => {
  it('vigie postmortem, in another process, reports the live data through the endpoint', async () => {
    expect(ingest.exitCode).toBeNull();
    const out = join(dir, 'report');
    const { stdout, stderr } = await vigie('postmortem', '--chdb-path', chdb, '--from', from, '--to', to, '--out', out);
    expect(stderr).toContain(`reading the read endpoint of vigie ingest (pid ${ingest.pid})`);
    // Every faculty of the simulated platform, with sessions and capacity from the live rollups.
    const rows = stdout.split('\n').filter((l) => /^\s{2}(law|medicine|hec)\s+\d+ @\d\d:\d\d\s+\d+/.test(l));
    expect(rows.length).toBe(3);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
    expect(ingest.exitCode).toBeNull();
  }, 300_000);

  it('vigie query reads it too', async () => {
    const { stdout, stderr } = await vigie('query', 'faculty_peaks', '--chdb-path', chdb, '--param', `from=${from}`, '--param', `to=${to}`, '--format', 'csv');
    expect(stderr).toContain(`reading the read endpoint of vigie ingest (pid ${ingest.pid})`);
    expect(stdout).toMatch(/^"?law"?,/m);
  }, 300_000);

  it('vigie rules backtest replays the live history through it', async () => {
    const { stdout, stderr } = await vigie('rules', 'backtest', '--chdb-path', chdb, '--from', from, '--to', to, '--format', 'json');
    expect(stderr).toContain(`reading the read endpoint of vigie ingest (pid ${ingest.pid})`);
    const r = JSON.parse(stdout) as { samplesRead: number; evaluations: number };
    expect(r.samplesRead).toBe(exported);
    expect(r.evaluations).toBeGreaterThan(0);
  }, 300_000);

  it('after ingest stops, the endpoint file is gone and the commands open the directory themselves', async () => {
    ingest.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => ingest.once('exit', (c) => r(c)));
    expect(code, ingestErr).toBe(0);
    expect(existsSync(join(chdb, ENDPOINT_FILE))).toBe(false);
    const { stdout, stderr } = await vigie('postmortem', '--chdb-path', chdb, '--from', from, '--to', to);
    expect(stderr).toContain(`reading embedded chDB at ${chdb}`);
    expect(stdout).toMatch(/^\s{2}law\s+\d+ @/m);
  }, 300_000);
});
