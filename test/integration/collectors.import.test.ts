/**
 * `vigie import --openmetrics` as a user runs it: a file of past samples reaches Kafka
 * with its own timestamps, names and labels (the history rules are backtested on), and
 * a malformed file is refused naming the line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { consumeTopic, VIGIE_BIN, waitFor } from './support/collectors.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-import-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigie import --openmetrics', () => {
  it('backfills every sample at its own timestamp', async () => {
    const topic = uniqueTopic('vigie.test.import');
    const t0 = Math.floor(Date.now() / 1000) - 3 * 3600; // three hours ago, in seconds
    const lines = ['# TYPE http_server_request_duration histogram', '# TYPE ecampus_sessions_active gauge'];
    for (let i = 0; i < 120; i++) {
      const t = t0 + i * 15;
      lines.push(`ecampus_sessions_active{faculty="law",server="web-1"} ${i * 10} ${t}`);
      lines.push(`http_server_request_duration_bucket{faculty="law",le="2"} ${i * 3} ${t}`);
      lines.push(`http_server_request_duration_bucket{faculty="law",le="+Inf"} ${i * 4} ${t}`);
    }
    lines.push('# EOF', '');
    const file = join(dir, 'history.om');
    writeFileSync(file, lines.join('\n'));
    const r = spawnSync(process.execPath, [VIGIE_BIN, 'import', '--openmetrics', file, '--kafka', kafkaBrokers()[0]!, '--topic', topic, '--job', 'moodle', '--instance', 'web-1', '--batch', '100'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/imported 360 samples .* in 4 messages/);
    const consumer = await consumeTopic(topic);
    try {
      await waitFor(() => consumer.messages.length >= 4, 60_000, () => `4 messages, have ${consumer.messages.length}`);
      const all = consumer.messages.flatMap((m) => m.samples);
      // The histogram's two buckets travel as one histogram point, which also carries its _count.
      expect(all).toHaveLength(480);
      const counts = all.filter((s) => s.metric === 'http_server_request_duration_count').sort((a, b) => a.timestampMs - b.timestampMs);
      expect(counts.map((s) => s.value)).toEqual([...Array(120).keys()].map((i) => i * 4));
      const sessions = all.filter((s) => s.metric === 'ecampus_sessions_active').sort((a, b) => a.timestampMs - b.timestampMs);
      expect(sessions.map((s) => s.timestampMs)).toEqual([...Array(120).keys()].map((i) => (t0 + i * 15) * 1000));
      expect(sessions[57]).toMatchObject({ value: 570, labels: { faculty: 'law', server: 'web-1', job: 'moodle', instance: 'web-1' } });
      const inf = all.find((s) => s.metric === 'http_server_request_duration_bucket' && s.labels['le'] === '+Inf' && s.timestampMs === (t0 + 15) * 1000);
      expect(inf?.value).toBe(4);
      expect(consumer.messages.every((m) => m.key === 'moodle/web-1')).toBe(true);
    } finally {
      await consumer.stop();
    }
  });

  it('refuses a malformed file with exit 2, naming the line', () => {
    const file = join(dir, 'bad.om');
    writeFileSync(file, 'ok_metric 1 1765000000\nbad{x=1} 2 1765000000\n# EOF\n');
    const r = spawnSync(process.execPath, [VIGIE_BIN, 'import', '--openmetrics', file, '--kafka', kafkaBrokers()[0]!, '--topic', uniqueTopic('vigie.test.import.bad')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:2: label x: value must be quoted`);
  });
});
