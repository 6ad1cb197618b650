/**
 * A private Prometheus Alertmanager per test: its own process on a free 127.0.0.1 port,
 * its own config and storage in a temp directory, so tests never share silences,
 * groups or notification logs.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../support/daemon.ts';

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

/** A running private Alertmanager (API at `${url}/api/v2`). */
export type RunningAlertmanager = RunningDaemon;

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

  return startDaemon({
    name: 'Alertmanager',
    bin: ALERTMANAGER_BIN,
    dir,
    readyTimeoutMs: 15_000,
    args: (port, url) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      `--web.external-url=${url}`,
      '--log.level=warn',
    ],
  });
}
