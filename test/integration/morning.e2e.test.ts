/**
 * The spine, end to end: a simulated exam morning through simulator → collectors →
 * transport (real Kafka, then in-process) → pipeline → chDB, tap → rules engine →
 * real Alertmanager → a local webhook receiver. Asserts what on-call relies on: the page
 * arrives before the collapse, nothing is lost or duplicated, the alert resolves once
 * the morning recovers, and an ample-capacity morning pages nobody.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMorningChain, type MorningChainResult } from '../../cli/chain.ts';
import { DEFAULT_RULES_FILE } from '../../cli/options.ts';
import { createStorage, type Storage } from '../../pipeline/index.ts';
import { beatingStorage, STEP_BACKSTOP_MS, untilStalled } from '../support/progress.ts';
import { startAlertmanager, type RunningAlertmanager } from './support/alertmanager.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts';

interface AmWebhookBody {
  readonly status: string;
  readonly alerts: readonly { status: string; labels: Record<string, string>; startsAt: string; endsAt: string }[];
}

const fmt = (ms: number) => `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

// A whole morning takes about 65 CPU-seconds: 1-2 min on an idle 2-core machine, 6-8 min
// beside other work. Each is bounded by its progress (untilStalled), so the vitest
// timeout is only a backstop.
describe('a simulated exam morning, end to end', { timeout: STEP_BACKSTOP_MS }, () => {
  let dir: string;
  let receiver: WebhookReceiver;
  let am: RunningAlertmanager;
  // chDB: one engine and data directory per process, so one storage per file and one
  // database per scenario.
  let chdb: Storage;
  const db = (database: string): Storage => ({ ...chdb, database, close: async () => {} });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigie-e2e-'));
    chdb = createStorage({ chdbPath: join(dir, 'chdb'), database: 'vigie' });
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({ webhookUrl: `${receiver.url}/alertmanager`, groupWait: '1s', groupInterval: '1s', groupBy: ['alertname', 'faculty'] });
  });
  afterAll(async () => {
    await am?.stop();
    await receiver?.stop();
    await chdb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function morning(name: string, storage: Storage, extra: { kafka: boolean; capacity: number; alertmanager: boolean }): Promise<MorningChainResult> {
    const topic = extra.kafka ? uniqueTopic('otlp_metrics_e2e') : 'otlp_metrics';
    return untilStalled(`${name} morning`, (beat) =>
      runMorningChain({
        ...(extra.kafka ? { kafkaBrokers: kafkaBrokers(), topic, groupId: `${topic}-group` } : {}),
        storage: beatingStorage(storage, beat),
        rulesFile: DEFAULT_RULES_FILE,
        ...(extra.alertmanager ? { alertmanagerUrl: am.url, journalDir: join(dir, `outbox-${name}`) } : {}),
        sim: { seed: 42, capacity: extra.capacity, compression: Infinity },
        onProgress: (p) => beat(`simulated ${new Date(p.simNowMs).toISOString()}`),
        drainStallMs: STEP_BACKSTOP_MS,
        log: (line) => console.log(`[${name}] ${line}`),
      }),
    );
  }

  function assertCollapseMorning(r: MorningChainResult, name: string): void {
    expect(r.truth.collapseAtMs, 'the default morning collapses').not.toBeNull();
    expect(r.firstPage, 'a page was sent').not.toBeNull();
    expect(r.leadTimeMs!, 'the page comes before the collapse').toBeGreaterThan(0);
    console.log(`[${name}] collapse ${new Date(r.truth.collapseAtMs!).toISOString()} first page ${new Date(r.firstPage!.at).toISOString()} lead time ${fmt(r.leadTimeMs!)}`);
    // Nothing lost, nothing duplicated: the rows stored are exactly the samples exported.
    expect(r.truth.exportFailures).toBe(0);
    expect(r.pipeline.dlq).toBe(0);
    expect(r.storedSamples).toBe(r.exportedSamples);
    // The paging alert resolves once the morning recovers.
    const resolved = r.transitions.find((t) => t.state === 'resolved' && t.fingerprint === r.firstPage!.fingerprint && t.at > r.firstPage!.at);
    expect(resolved, 'the first page resolves').toBeDefined();
    const stillFiring = r.transitions.filter((t) => t.labels['severity'] === 'page');
    const lastState = new Map<string, string>();
    for (const t of stillFiring) lastState.set(t.fingerprint, t.state);
    expect([...lastState.values()].filter((s) => s === 'firing' || s === 'pending'), 'nothing pages at the end of the recovered morning').toEqual([]);
  }

  it('pages before the collapse through real Kafka, chDB and Alertmanager, storing every sample once', async () => {
    const storage = db('vigie_kafka');
    try {
      const r = await morning('kafka', storage, { kafka: true, capacity: 1, alertmanager: true });
      assertCollapseMorning(r, 'kafka');
      const page = r.firstPage!;
      const isPage = (body: unknown, status: string) => {
        const b = body as AmWebhookBody;
        return b.alerts?.some((a) => a.status === status && a.labels['alertname'] === page.rule && a.labels['faculty'] === page.labels['faculty']);
      };
      const firing = await receiver.waitFor((req) => isPage(req.body, 'firing'), 20_000);
      expect(firing.path).toBe('/alertmanager');
      await receiver.waitFor((req) => isPage(req.body, 'resolved'), 20_000);
      // One firing notification for that alert group, not a flood.
      const firingPosts = receiver.received.filter((req) => isPage(req.body, 'firing'));
      expect(firingPosts.length).toBeLessThanOrEqual(2);
    } finally {
      await storage.close();
    }
  });

  it('does the same on the embedded path (in-process transport + chDB)', async () => {
    const storage = db('vigie_embedded');
    try {
      const r = await morning('embedded', storage, { kafka: false, capacity: 1, alertmanager: false });
      assertCollapseMorning(r, 'embedded');
    } finally {
      await storage.close();
    }
  });

  it('pages nobody on a benign morning with ample capacity and the same ramp', async () => {
    const storage = db('vigie_benign');
    try {
      const r = await morning('benign', storage, { kafka: false, capacity: 2.5, alertmanager: false });
      expect(r.truth.collapseAtMs).toBeNull();
      expect(r.transitions.filter((t) => t.state === 'firing' && t.labels['severity'] === 'page')).toEqual([]);
      expect(r.storedSamples).toBe(r.exportedSamples);
    } finally {
      await storage.close();
    }
  });
});
