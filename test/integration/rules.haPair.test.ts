/**
 * Issue 11, item 9: rule evaluators as an HA pair, as an operator deploys them with
 * scaled-out ingest. A storage instance (`vigie ingest --no-rules`) and two evaluators
 * (`vigie ingest --rules-only`, each in its own consumer group, so each sees every
 * partition) share one store (`vigie store serve`, standing in for a ClickHouse server)
 * and page the same real Alertmanager. Both evaluators send the alert (each one's
 * delivered counter moves), and they add no replica label, so Alertmanager merges them:
 * one notification per alert group at the webhook receiver, also after one evaluator is
 * `kill -9`ed, and each transition is logged once in the shared `alerts_log`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorage } from '../../pipeline/storage.ts';
import { TABLES } from '../../schema/tables.ts';
import { encodeRequestObject } from '../../otlp/request.ts';
import { KafkaTransport } from '../../transport/kafka.ts';
import type { OutgoingMessage } from '../../transport/types.ts';
import { freePort } from '../support/daemon.ts';
import { startAlertmanager, type RunningAlertmanager } from './support/alertmanager.ts';
import { kafkaBrokers, uniqueTopic } from './support/kafka.ts';
import { waitUntil } from './support-pipeline/fixtures.ts';
import { scrapeSum, startVigie, type VigieProcess } from './support/vigieProcess.ts';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from './support/webhook.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-ha-'));
const started: VigieProcess[] = [];
let am: RunningAlertmanager | undefined;
let receiver: WebhookReceiver | undefined;
afterAll(async () => {
  for (const p of started) await p.kill9();
  await am?.stop();
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const HOSTS = 6;
const RULES = `groups:
  - name: ha
    rules:
      - alert: HaProbeHigh
        expr: ha_probe > 50
        labels:
          severity: page
        annotations:
          summary: 'probe high on {{ $labels.instance }}'
`;

/** Host `h`'s reading at data time `tsMs`: 10, or 100 on h0 once `high`. */
function probe(h: number, tsMs: number, high: boolean): OutgoingMessage {
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const request = {
    resourceMetrics: [
      {
        resource: { attributes: [str('service.name', 'ha'), str('host.name', `h${h}`)] },
        scopeMetrics: [{ scope: { name: 'vigie-test' }, metrics: [{ name: 'ha.probe', gauge: { dataPoints: [{ attributes: [str('faculty', 'law')], timeUnixNano: String(BigInt(tsMs) * 1_000_000n), asDouble: high && h === 0 ? 100 : 10 }] } }] }],
      },
    ],
  };
  return { key: `ha/h${h}`, value: encodeRequestObject(request) };
}

/** Alertmanager webhook posts (format v4) with their status. */
function notifications(r: WebhookReceiver): { status: string; alerts: number }[] {
  return r.received
    .filter((x: ReceivedRequest) => x.path === '/am')
    .map((x) => {
      const body = x.body as { status: string; alerts: unknown[] };
      return { status: body.status, alerts: body.alerts.length };
    });
}

describe('rule evaluators as an HA pair (real Kafka, real Alertmanager, shared store)', () => {
  it('both evaluators page, Alertmanager notifies once per group, and a kill -9 of one changes nothing', async () => {
    const brokers = kafkaBrokers();
    const topic = uniqueTopic('vigie.test.ha');
    const transport = new KafkaTransport({ brokers, clientId: 'vigie-test-ha', logLevel: 'error' });
    await transport.ensureTopics([
      { name: topic, partitions: 3 },
      { name: `${topic}.dlq`, partitions: 1 },
    ]);
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({ webhookUrl: `${receiver.url}/am`, groupBy: ['alertname'], groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' });
    const rulesFile = join(dir, 'ha.yml');
    writeFileSync(rulesFile, RULES);

    const store = startVigie('store', ['store', 'serve', '--chdb-path', join(dir, 'chdb'), '--database', 'ha', '--http-port', '0'], { cwd: dir });
    started.push(store);
    const url = (await store.waitForOutput(/read-write at (http:\/\/\S+)/, 120_000))[1]!;
    const common = ['--kafka', brokers[0]!, '--topic', topic, '--clickhouse-url', url, '--database', 'ha'];
    const storing = startVigie('ingest', ['ingest', ...common, '--group', uniqueTopic('vigie.test.ha.store'), '--no-rules', '--metrics-port', '0'], { cwd: dir });
    started.push(storing);
    const evaluator = async (name: string) => {
      const cwd = join(dir, name);
      mkdirSync(cwd);
      const port = await freePort();
      const p = startVigie(name, ['ingest', ...common, '--rules-only', '--group', uniqueTopic(`vigie.test.ha.${name}`), '--rules', rulesFile, '--alertmanager', am!.url, '--metrics-port', String(port)], { cwd });
      started.push(p);
      await p.waitForOutput(/rules only: consuming all of/, 120_000);
      return { p, metrics: `http://127.0.0.1:${port}/metrics` };
    };
    const e1 = await evaluator('evaluator-1');
    const e2 = await evaluator('evaluator-2');
    await storing.waitForOutput(/consuming .* \(no rules\)/, 120_000);

    // Two hours of readings replayed at 25× (5 s of data time every 200 ms); h0 goes high 3 min in.
    const producer = transport.producer();
    await producer.connect();
    const baseMs = Date.now() - 7_200_000;
    let round = 0;
    let produce = true;
    const producing = (async () => {
      while (produce && round < 1_400) {
        const ts = baseMs + round * 5_000;
        await producer.send(topic, Array.from({ length: HOSTS }, (_, h) => probe(h, ts, round >= 36)));
        round++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    // Both evaluators deliver the page to Alertmanager.
    const delivered = (m: string) => scrapeSum(m, 'alerts_outbox_delivered_total').catch(() => 0);
    for (const e of [e1, e2]) {
      try {
        await waitUntil(async () => (await delivered(e.metrics)) > 0, 120_000, `${e.p.name} to deliver a page to Alertmanager`);
      } catch (err) {
        throw new Error(`${(err as Error).message}; it printed:\n${e.p.output()}`);
      }
    }
    await receiver.waitFor((r) => r.path === '/am', 30_000);
    // Several group intervals later (and a re-send by each evaluator's outbox would not
    // change the group either): still one notification.
    const roundsThen = round;
    await waitUntil(() => round >= roundsThen + 25, 60_000, 'five more seconds of stream');
    expect(notifications(receiver)).toEqual([{ status: 'firing', alerts: 1 }]);

    // One evaluator dies; the other keeps the alert firing: no resolve, no new page.
    await e1.p.kill9();
    const roundsAtKill = round;
    await waitUntil(() => round >= roundsAtKill + 25, 60_000, 'five more seconds of stream after the kill');
    const active = (await (await fetch(`${am.url}/api/v2/alerts?active=true`)).json()) as { labels: Record<string, string> }[];
    expect(active.map((a) => a.labels['alertname'])).toEqual(['HaProbeHigh']);
    expect(active[0]!.labels).not.toHaveProperty('replica');
    expect(notifications(receiver)).toEqual([{ status: 'firing', alerts: 1 }]);

    produce = false;
    await producing;
    await producer.disconnect();
    // The surviving evaluator saw the whole stream (every partition): one sample per message.
    const produced = round * HOSTS;
    try {
      await waitUntil(async () => (await scrapeSum(e2.metrics, 'tap_samples_total')) === produced, 60_000, `evaluator-2 to evaluate all ${produced} samples`);
    } catch (err) {
      throw new Error(`${(err as Error).message} (it has ${await scrapeSum(e2.metrics, 'tap_samples_total')}); it printed:\n${e2.p.output()}`);
    }
    expect(await e2.p.stop(), e2.p.output()).toBe(0);
    expect(e2.p.output()).toMatch(/stopped; \d+ messages, [1-9]\d* samples evaluated \(rules only\)/);
    expect(await storing.stop(), storing.output()).toBe(0);

    // The shared alerts log holds the firing transition once, although both evaluators wrote it.
    const reader = createStorage({ url, database: 'ha' });
    try {
      const rs = await reader.client.query({
        query: `SELECT state, count() AS n FROM ha.${TABLES.alertsLog} WHERE rule = 'HaProbeHigh' GROUP BY state ORDER BY state`,
        format: 'JSONEachRow',
      });
      expect((await rs.json<{ state: string; n: string | number }>()).map((r) => [r.state, Number(r.n)])).toEqual([['firing', 1]]);
    } finally {
      await reader.close();
    }
    expect(await store.stop(), store.output()).toBe(0);
  });
});
