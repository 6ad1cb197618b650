/**
 * Status notices from alert transitions (fake fetch, fixed clock): one bilingual notice
 * per scope, published on a page and cleared on its resolve, nothing internal in any
 * text or payload, held notices stay held, operator edits survive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertTransition } from '../../../rules/engine.ts';
import { createStatusPublisher, renderStatusPage, type StatusWebhookPayload } from '../../../status/index.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 52);
const INTERNAL = ['law-app-2', '10.0.3.7', 'runbooks.example', '0.9731', 'FacultySessionsSaturationForecast', 'workers_busy'];

function transition(state: 'firing' | 'resolved' | 'pending', labels: Record<string, string>, fp: string, at = T0): AlertTransition {
  return {
    rule: 'FacultySessionsSaturationForecast',
    group: 'vigie',
    fingerprint: fp,
    state,
    labels: { alertname: 'FacultySessionsSaturationForecast', instance: 'law-app-2:9464', host: '10.0.3.7', ...labels },
    annotations: { summary: 'law workers_busy at 0.9731', runbook_url: 'https://runbooks.example/law', description: 'value 0.9731' },
    value: 0.9731,
    activeAt: at - 60_000,
    at,
  };
}

let dir: string;
let sent: StatusWebhookPayload[];
const fakeFetch = (async (_url: string, init?: RequestInit) => {
  sent.push(JSON.parse(String(init?.body)) as StatusWebhookPayload);
  return new Response('{}', { status: 200 });
}) as typeof fetch;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigie-status-'));
  sent = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('status publisher', () => {
  it('publishes one bilingual notice per faculty on a page, and clears it when the last alert resolves', async () => {
    let now = T0;
    const pub = createStatusPublisher({ statePath: join(dir, 's.json'), webhookUrls: ['http://cms.invalid/hook'], clock: () => now, fetch: fakeFetch });
    await pub.onTransitions([transition('firing', { severity: 'page', faculty: 'law' }, 'a'), transition('firing', { severity: 'page', faculty: 'law' }, 'b')]);
    await pub.onTransitions([transition('firing', { severity: 'ticket', faculty: 'hec' }, 'c'), transition('pending', { severity: 'page', faculty: 'hec' }, 'd')]);
    expect(sent.map((p) => p.event)).toEqual(['published']);
    const n = sent[0]!.notice;
    expect(n.id).toBe('faculty-law');
    expect(n.fr.body).toMatch(/Droit, science politique et criminologie/);
    expect(n.fr.body).toMatch(/Prochaine information à 10:07/); // 08:52 UTC + 15 min, Brussels time (UTC+1)
    expect(n.en.body).toMatch(/Next update at 10:07/);
    expect(n.en.body).toMatch(/do not restart your attempt/);
    now += 5 * 60_000;
    await pub.onTransitions([transition('resolved', { severity: 'page', faculty: 'law' }, 'a', now)]);
    expect(sent).toHaveLength(1); // alert b still fires
    await pub.onTransitions([transition('resolved', { severity: 'page', faculty: 'law' }, 'b', now)]);
    expect(sent.map((p) => p.event)).toEqual(['published', 'cleared']);
    expect(sent[1]!.active).toEqual([]);
    expect(sent[1]!.notice.en.title).toMatch(/Resolved/);
    // A new page later opens a new notice.
    await pub.onTransitions([transition('firing', { severity: 'page', faculty: 'law' }, 'e', now + 60_000)]);
    expect(sent.map((p) => p.event)).toEqual(['published', 'cleared', 'published']);
  });

  it('never shows hosts, values, rule names or runbooks, in the webhook nor on the page', async () => {
    const pub = createStatusPublisher({ statePath: join(dir, 's.json'), webhookUrls: ['http://cms.invalid/hook'], clock: () => T0, fetch: fakeFetch });
    await pub.onTransitions([transition('firing', { severity: 'page' }, 'p'), transition('firing', { severity: 'page', faculty: 'medicine' }, 'm')]);
    const page = renderStatusPage(pub.state().notices, T0);
    const out = JSON.stringify(sent) + page;
    for (const s of INTERNAL) expect(out, s).not.toContain(s);
    expect(out).not.toMatch(/"alerts"|fingerprint/);
    expect(sent.map((p) => p.notice.id).sort()).toEqual(['faculty-medicine', 'platform']);
    expect(page).toContain('Perturbation de la plateforme d');
    expect(page).toContain('Exam platform disruption — Médecine');
  });

  it('in hold mode keeps new notices off the page until an operator publishes; edits survive', async () => {
    const pub = createStatusPublisher({ statePath: join(dir, 's.json'), webhookUrls: ['http://cms.invalid/hook'], clock: () => T0, fetch: fakeFetch });
    pub.setMode('hold');
    await pub.onTransitions([transition('firing', { severity: 'page', faculty: 'hec' }, 'h')]);
    expect(sent.map((p) => p.event)).toEqual(['held']);
    expect(sent[0]!.active).toEqual([]);
    expect(renderStatusPage(pub.state().notices, T0)).toContain('All services are operating normally');
    await pub.edit('faculty-hec', { en: { body: 'HEC exams are delayed by 30 minutes.' } });
    await pub.publish('faculty-hec');
    expect(sent.map((p) => p.event)).toEqual(['held', 'updated', 'published']);
    expect(sent[2]!.notice.en.body).toBe('HEC exams are delayed by 30 minutes.');
    expect(renderStatusPage(pub.state().notices, T0)).toContain('HEC exams are delayed by 30 minutes.');
    await expect(pub.publish('faculty-nope')).rejects.toThrow(/faculty-nope/);
  });

  it('counts a webhook that keeps failing, and the notice is still on the page', async () => {
    const failing = (async () => new Response('no', { status: 500 })) as typeof fetch;
    const lines: string[] = [];
    const pub = createStatusPublisher({ statePath: join(dir, 's.json'), webhookUrls: ['http://cms.invalid/hook'], clock: () => T0, fetch: failing, retries: 1, log: (l) => lines.push(l) });
    await pub.onTransitions([transition('firing', { severity: 'page', faculty: 'law' }, 'x')]);
    expect(pub.failures()).toBe(1);
    expect(lines.join('\n')).toMatch(/cms\.invalid.*faculty-law/);
    expect(renderStatusPage(pub.state().notices, T0)).toContain('Droit');
  });

  it('re-issues a notice when its promised next update comes, with a new promise', async () => {
    let now = T0;
    const pub = createStatusPublisher({ statePath: join(dir, 's.json'), webhookUrls: ['http://cms.invalid/hook'], clock: () => now, fetch: fakeFetch, nextUpdateMinutes: 10 });
    await pub.onTransitions([transition('firing', { severity: 'page', faculty: 'law' }, 'a')]);
    now += 9 * 60_000;
    expect(await pub.refresh()).toBe(0);
    now += 60_000;
    expect(await pub.refresh()).toBe(1);
    expect(sent.map((p) => p.event)).toEqual(['published', 'updated']);
    expect(sent[1]!.notice.en.body).toMatch(/Next update at 10:12/); // 09:02 UTC + 10 min, Brussels
    expect(Date.parse(sent[1]!.notice.nextUpdateAt!)).toBe(now + 10 * 60_000);
  });
  it('never re-issues a notice that a resolve cleared while the update of another was being posted', async () => {
    let now = T0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let slow = false;
    const slowFetch = (async (url: string, init?: RequestInit) => {
      if (slow) {
        slow = false;
        await gate;
      }
      return fakeFetch(url, init);
    }) as typeof fetch;
    const pub = createStatusPublisher({ statePath: join(dir, 's.json'), webhookUrls: ['http://cms.invalid/hook'], clock: () => now, fetch: slowFetch, nextUpdateMinutes: 10 });
    await pub.onTransitions([transition('firing', { severity: 'page', faculty: 'law' }, 'a'), transition('firing', { severity: 'page' }, 'p')]);
    now += 10 * 60_000;
    slow = true;
    const refreshing = pub.refresh(); // the first due notice's post waits on the gate
    await pub.onTransitions([transition('resolved', { severity: 'page' }, 'p', now)]);
    release();
    expect(await refreshing).toBe(1);
    const platform = pub.state().notices.find((n) => n.id === 'platform')!;
    expect(platform.state).toBe('cleared');
    expect(platform.en.title).toBe('Platform restored');
    const section = /<section class="notice (\w+)" data-notice="platform">[\s\S]*?<\/section>/.exec(renderStatusPage(pub.state().notices, now));
    expect(section?.[1]).toBe('cleared');
    expect(section?.[0]).not.toMatch(/disruption|Perturbation/);
  });
});
