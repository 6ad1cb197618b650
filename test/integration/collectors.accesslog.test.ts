/**
 * The access-log tailer as a user runs it (`vigie collect --config`, real Kafka): lines
 * written across a rename rotation, two copytruncates (one while the collector is dead)
 * and two `kill -9`s reach Kafka exactly once — the last snapshot counts every line, and
 * no snapshot ever counts more lines than were written.
 */
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../transport/kafka.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { consumeTopic, spawnVigie, sumOf, waitFor, type VigieChild } from './support/collectors.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-accesslog-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigie collect: access-log tailing through rotation, truncation and kill -9', () => {
  it('every line reaches Kafka once', async () => {
    const topic = uniqueTopic('vigie.test.accesslog');
    await new KafkaTransport({ brokers: kafkaBrokers() }).ensureTopics([{ name: topic, partitions: 1 }]);
    const log = join(dir, 'access.log');
    writeFileSync(log, '');
    const cfg = join(dir, 'vigie.yml');
    writeFileSync(
      cfg,
      [
        'collectors:',
        '  service: ecampus',
        '  host: it-web-1',
        '  intervalSeconds: 0.5',
        `  stateDir: ${join(dir, 'state')}`,
        '  hostMetrics: false',
        '  accessLogs:',
        '    pollMs: 50',
        '    files:',
        `      - path: ${log}`,
        '        format: nginx_timed',
        `        rotatedPaths: [${log}.1, ${log}.2]`,
        '    routes:',
        '      - { pattern: "^/login", route: /login/index.php, login: true }',
        '      - { pattern: "^/course/view\\\\.php\\\\?id=(?<course>\\\\d+)", route: /course/view.php }',
        '    courseFaculty: { "1": law, "2": medicine }',
      ].join('\n'),
    );
    let written = 0;
    const write = (n: number) => {
      let s = '';
      for (let i = 0; i < n; i++, written++) {
        const uri = written % 7 === 0 ? '/login/index.php' : `/course/view.php?id=${(written % 2) + 1}&n=${written}`;
        const method = written % 7 === 0 ? 'POST' : 'GET';
        s += `10.0.${written % 250}.1 - - [07/Dec/2026:09:00:00 +0000] "${method} ${uri} HTTP/1.1" ${written % 13 === 0 ? 503 : 200} 512 "-" "load/${written}" 0.${String(written % 1000).padStart(3, '0')} 0.010\n`;
      }
      appendFileSync(log, s);
    };
    const copytruncate = () => {
      if (existsSync(`${log}.1`)) renameSync(`${log}.1`, `${log}.2`);
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
    };
    const consumer = await consumeTopic(topic);
    const lines = (i: number) => sumOf(consumer.messages[i]!, 'vigie_accesslog_lines_total', { outcome: 'parsed' });
    const requests = (i: number) => sumOf(consumer.messages[i]!, 'http_server_request_duration_count');
    const maxLines = () => consumer.messages.reduce((m, _, i) => Math.max(m, lines(i)), 0);
    let proc: VigieChild | null = null;
    const start = async () => {
      proc = spawnVigie(['--config', cfg, 'collect', '--kafka', kafkaBrokers()[0]!, '--topic', topic]);
      const before = consumer.messages.length;
      // Wait for its first export: it has read its state and the logs.
      await waitFor(() => consumer.messages.length > before, 60_000, () => `a first export\n${proc!.output()}`);
    };
    const kill9 = async () => {
      proc!.child.kill('SIGKILL');
      expect(await proc!.exited).toBe('SIGKILL');
    };
    try {
      await start();
      // The bin re-executed the collector in place (same pid) with its small young generation.
      expect(readFileSync(`/proc/${proc!.child.pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=1');
      for (let k = 0; k < 5; k++) {
        write(100);
        await new Promise((r) => setTimeout(r, 60));
      }
      await waitFor(() => maxLines() >= 300, 30_000, () => `300 lines exported, have ${maxLines()}`);
      write(150); // written just before the rotation, maybe not read yet
      renameSync(log, `${log}.1`);
      write(200);
      await new Promise((r) => setTimeout(r, 120));
      write(50);
      await kill9(); // maybe mid-read, maybe before the state was saved or the export sent
      write(120); // while dead
      copytruncate(); // while dead
      write(80);
      await start();
      write(200);
      await new Promise((r) => setTimeout(r, 100));
      write(33);
      copytruncate(); // while running
      write(77);
      await new Promise((r) => setTimeout(r, 30));
      await kill9();
      write(10);
      await start();
      await waitFor(() => maxLines() >= written, 60_000, () => `${written} lines in Kafka, max snapshot has ${maxLines()}\n${proc!.output()}`);
      // Give it a few more exports: nothing may be counted twice.
      const n = consumer.messages.length;
      await waitFor(() => consumer.messages.length >= n + 3, 30_000, () => 'three more exports');
      proc!.child.kill('SIGTERM');
      expect(await proc!.exited).toBe(0);
      const last = consumer.messages.length - 1;
      expect(written).toBe(1420); // the test wrote what it meant to
      expect(maxLines()).toBe(written);
      expect(lines(last)).toBe(written);
      expect(requests(last)).toBe(written);
      for (let i = 0; i < consumer.messages.length; i++) expect(lines(i), `message ${i}`).toBeLessThanOrEqual(written);
      // The route table reached the data: logins and faculties.
      const loginAttempts = sumOf(consumer.messages[last]!, 'ecampus_logins_total');
      expect(loginAttempts).toBe(Math.ceil(written / 7));
      expect(sumOf(consumer.messages[last]!, 'http_server_request_duration_count', { faculty: 'law' })).toBeGreaterThan(0);
      expect(sumOf(consumer.messages[last]!, 'http_server_request_duration_count', { faculty: 'medicine', http_response_status_code: '503' })).toBeGreaterThan(0);
      expect(consumer.messages[last]!.key).toBe('ecampus/it-web-1');
    } finally {
      if (proc !== null && (proc as VigieChild).child.exitCode === null) (proc as VigieChild).child.kill('SIGKILL');
      await consumer.stop();
    }
  });
});
