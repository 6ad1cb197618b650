/**
 * The student-facing status notice end to end: a page transition reaches the CMS
 * webhook (a real local HTTP receiver) within a minute, the status page Vigie serves
 * shows it in French and English in Chromium (screenshot:
 * out/test-artifacts/status-page.png) without any internal detail, operators hold,
 * edit and publish it with `vigie status …`, and it clears on resolve.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertTransition } from '../../rules/engine.ts';
import { createStatusPublisher, startStatusServer, type StatusServer, type StatusWebhookPayload } from '../../status/index.ts';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../integration/support/webhook.ts';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
// Asynchronous: the webhook receiver lives in this process and must answer while the CLI runs.
const vigie = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) =>
      done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const INTERNAL = ['law-app-2', '10.0.3.7', 'runbooks.example', '0.9731', 'FacultyCollapsing', 'error ratio'];

const page = (at: number, state: 'firing' | 'resolved', faculty?: string): AlertTransition => ({
  rule: 'FacultyCollapsing',
  group: 'vigie',
  fingerprint: `fp-${faculty ?? 'platform'}`,
  state,
  labels: { alertname: 'FacultyCollapsing', severity: 'page', instance: 'law-app-2:9464', host: '10.0.3.7', ...(faculty ? { faculty } : {}) },
  annotations: { summary: 'law error ratio 0.9731', runbook_url: 'https://runbooks.example/collapse' },
  value: 0.9731,
  activeAt: at,
  at,
});

let dir: string;
let statePath: string;
let receiver: WebhookReceiver;
let server: StatusServer;

const event = (e: StatusWebhookPayload['event'], after = 0) => (r: ReceivedRequest) => receiver.received.indexOf(r) >= after && (r.body as StatusWebhookPayload).event === e;
async function chromium(url: string, extra: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'vigie-chromium-'));
  try {
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`, ...extra, url];
    return (await promisify(execFile)(CHROMIUM, args, { timeout: 90_000, maxBuffer: 64 << 20 })).stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigie-status-e2e-'));
  statePath = join(dir, 'status.json');
  receiver = await startWebhookReceiver();
  server = await startStatusServer({ statePath, port: 0 });
});
afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('student-facing status notice', () => {
  it('publishes a page to the CMS webhook within a minute and on the status page, in French and English, with nothing internal', async () => {
    const pub = createStatusPublisher({ statePath, webhookUrls: [`${receiver.url}/cms`] });
    const t0 = Date.now();
    await pub.onTransitions([page(t0, 'firing', 'law')]);
    const got = await receiver.waitFor(event('published'), 60_000);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(got.path).toBe('/cms');
    const body = got.body as StatusWebhookPayload;
    expect(body.notice.fr.title).toMatch(/Droit, science politique et criminologie/);
    expect(body.active).toHaveLength(1);
    const dom = await chromium(`${server.url}/`, ['--dump-dom']);
    expect(dom).toContain('Perturbation de la plateforme d');
    expect(dom).toContain('Exam platform disruption — Droit');
    expect(dom).toMatch(/Next update at \d\d:\d\d at the latest/);
    for (const s of INTERNAL) {
      expect(dom, s).not.toContain(s);
      expect(JSON.stringify(receiver.received), s).not.toContain(s);
    }
    const png = resolve(ROOT, 'out/test-artifacts/status-page.png');
    mkdirSync(resolve(ROOT, 'out/test-artifacts'), { recursive: true });
    await chromium(`${server.url}/`, [`--screenshot=${png}`, '--window-size=900,700']);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  }, 500_000);

  it('lets an operator hold, edit and publish the notice from the CLI', async () => {
    const hook = ['--state', statePath, '--webhook', `${receiver.url}/cms`];
    const before = receiver.received.length;
    const held = await vigie('status', 'hold', 'faculty-law', ...hook);
    expect(held.status, held.stderr).toBe(0);
    await receiver.waitFor(event('held', before), 30_000);
    expect(await (await fetch(`${server.url}/`)).text()).toContain('All services are operating normally');
    const edit = await vigie('status', 'edit', 'faculty-law', ...hook, '--en-body', 'Law exams restart at 10:30; your faculty will e-mail you.', '--fr-body', 'Les examens de droit reprennent à 10h30 ; votre faculté vous écrira.');
    expect(edit.status, edit.stderr).toBe(0);
    const published = await vigie('status', 'publish', 'faculty-law', ...hook);
    expect(published.status, published.stderr).toBe(0);
    const p = await receiver.waitFor(event('published', before), 30_000);
    expect((p.body as StatusWebhookPayload).notice.en.body).toBe('Law exams restart at 10:30; your faculty will e-mail you.');
    const html = await (await fetch(`${server.url}/`)).text();
    expect(html).toContain('Les examens de droit reprennent à 10h30');
    const list = await vigie('status', 'list', '--state', statePath);
    expect(JSON.parse(list.stdout).notices[0]).toMatchObject({ id: 'faculty-law', state: 'published' });
    const missing = await vigie('status', 'publish', 'faculty-nope', '--state', statePath);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/faculty-nope/);
  }, 500_000);

  it('clears the notice when the page resolves', async () => {
    const before = receiver.received.length;
    const pub = createStatusPublisher({ statePath, webhookUrls: [`${receiver.url}/cms`] });
    await pub.onTransitions([page(Date.now(), 'resolved', 'law')]);
    const c = await receiver.waitFor(event('cleared', before), 30_000);
    expect((c.body as StatusWebhookPayload).active).toEqual([]);
    const html = await (await fetch(`${server.url}/`)).text();
    expect(html).toContain('All services are operating normally');
    expect(html).toContain('Resolved — Droit');
    const json = (await (await fetch(`${server.url}/status.json`)).json()) as { notices: { state: string }[] };
    expect(json.notices.map((n) => n.state)).toEqual(['cleared']);
  });
});
