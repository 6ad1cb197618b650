/**
 * A private Prometheus Alertmanager per test: its own process on a free 127.0.0.1 port,
 * its own config and storage in a temp directory, so tests never share silences,
 * groups or notification logs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Path of the Debian package's binary. */
export const ALERTMANAGER_BIN = process.env['VIGIE_ALERTMANAGER_BIN'] ?? '/usr/bin/prometheus-alertmanager';

/** Routing options of the generated config (one route, one webhook receiver). */
export interface AlertmanagerOptions {
  /** Where notifications go (full URL, e.g. `${receiver.url}/alertmanager`). */
  readonly webhookUrl: string;
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly groupBy?: readonly string[];
  /** How long an alert without `endsAt` stays firing (Alertmanager's `resolve_timeout`). */
  readonly resolveTimeout?: string;
}

/** A running private Alertmanager. */
export interface RunningAlertmanager {
  /** Base URL, e.g. `http://127.0.0.1:41234` (API at `/api/v2`). */
  readonly url: string;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts Alertmanager and waits (≤ 15 s) for `GET /-/ready`. */
export async function startAlertmanager(opts: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'vigie-am-'));
  const groupBy = opts.groupBy ?? ['alertname', 'faculty'];
  const config = [
    'global:',
    `  resolve_timeout: ${opts.resolveTimeout ?? '5m'}`,
    'route:',
    '  receiver: test-webhook',
    `  group_by: [${groupBy.map((g) => JSON.stringify(g)).join(', ')}]`,
    `  group_wait: ${opts.groupWait ?? '1s'}`,
    `  group_interval: ${opts.groupInterval ?? '1s'}`,
    `  repeat_interval: ${opts.repeatInterval ?? '1h'}`,
    'receivers:',
    '  - name: test-webhook',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(opts.webhookUrl)}`,
    '        send_resolved: true',
    '',
  ].join('\n');
  await writeFile(join(dir, 'alertmanager.yml'), config);

  // A port probed free can be taken before Alertmanager binds it: retry a few times.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      ALERTMANAGER_BIN,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        `--web.external-url=${url}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.once('error', (err) => (out += `spawn error: ${err.message}\n`));

    const deadline = Date.now() + 15_000;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/-/ready`);
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const stop = async (): Promise<void> => {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    };
    if (ready) return { url, output: () => out, stop };
    if (!exited) child.kill('SIGKILL');
    await exit;
    if (attempt >= 2 || !/address already in use/i.test(out)) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`Alertmanager (${ALERTMANAGER_BIN}) did not become ready on ${url}:\n${out.slice(-2000)}`);
    }
  }
}
