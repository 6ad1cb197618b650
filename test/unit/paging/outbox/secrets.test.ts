/**
 * Issue 11, item 5: credentials in a receiver URL are used (Basic auth) but never
 * written (journal, logs, errors); a URL that can never work is refused at once with a
 * log line, and a temporary failure is said when it starts, not only at max_age.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookReceiver } from '../../../../paging/receivers/webhook.ts';
import type { OutboxMessage } from '../../../../paging/receivers/types.ts';
import { createOutbox } from '../../../../paging/outbox/outbox.ts';
import { describeError } from '../../../../core/errors.ts';
import { redactText, redactUrl } from '../../../../core/redact.ts';

const T0 = Date.UTC(2027, 0, 12, 8);
const message: OutboxMessage = {
  groupKey: 'g',
  groupLabels: { faculty: 'law' },
  status: 'firing',
  alerts: [{ fingerprint: '1', status: 'firing', labels: { alertname: 'X', faculty: 'law' }, annotations: {}, startsAt: T0, generatorURL: '', value: 1 }],
};
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function journalText(dir: string): string {
  return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
}

async function receiverServer(status: number): Promise<{ port: number; seen: IncomingHttpHeaders[]; close: () => void }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(status).end(status === 200 ? '{}' : 'no'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
}

function outboxFor(url: string, lines: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-outbox-secrets-'));
  dirs.push(dir);
  const receiver = createWebhookReceiver({ name: 'hook', url });
  const outbox = createOutbox({
    dir,
    clock: () => T0,
    log: (l) => lines.push(l),
    deliver: (e, now) => receiver.send(e.message, { now, idempotencyKey: e.id } as Parameters<typeof receiver.send>[1]),
  });
  return { dir, outbox };
}

describe('receiver secrets', () => {
  it('sends URL credentials as Basic auth and writes the password nowhere', async () => {
    const srv = await receiverServer(503);
    const lines: string[] = [];
    const { dir, outbox } = outboxFor(`http://ops:s3cr3t-pw@127.0.0.1:${srv.port}/hook?token=tok-123`, lines);
    outbox.enqueue([{ id: 'a1', receiver: 'hook', key: 'k', message }]);
    await outbox.tick(T0);
    outbox.close();
    srv.close();
    expect(srv.seen[0]?.authorization).toBe('Basic ' + Buffer.from('ops:s3cr3t-pw').toString('base64'));
    // The temporary failure is said at once, once.
    expect(lines.filter((l) => l.includes('alerts.outbox.retrying receiver=hook'))).toHaveLength(1);
    const written = journalText(dir) + lines.join('\n');
    expect(written).toContain('503');
    expect(written).not.toContain('s3cr3t-pw');
    expect(written).not.toContain('tok-123');
  });

  it('refuses a URL that can never work at once, with a log line, not as a temporary failure', async () => {
    const lines: string[] = [];
    const { dir, outbox } = outboxFor('http://ops:s3cr3t-pw@127.0.0.1:99999/hook', lines);
    outbox.enqueue([{ id: 'b1', receiver: 'hook', key: 'k', message }]);
    await outbox.tick(T0);
    expect(outbox.stats().rejected).toBe(1);
    expect(outbox.stats().retried).toBe(0);
    outbox.close();
    expect(lines.some((l) => l.includes('outcome=rejected') && l.includes('is invalid'))).toBe(true);
    expect(journalText(dir) + lines.join('\n')).not.toContain('s3cr3t-pw');
  });

  it('refuses a 401 at once (4xx other than 408/429 is permanent)', async () => {
    const srv = await receiverServer(401);
    const lines: string[] = [];
    const { outbox } = outboxFor(`http://127.0.0.1:${srv.port}/hook`, lines);
    outbox.enqueue([{ id: 'c1', receiver: 'hook', key: 'k', message }]);
    await outbox.tick(T0);
    outbox.close();
    srv.close();
    expect(outbox.stats().rejected).toBe(1);
    expect(lines.some((l) => l.includes('outcome=rejected') && l.includes('401'))).toBe(true);
  });
});

describe('redaction', () => {
  it('hides URL passwords and token parameters in URLs, texts and error chains', () => {
    expect(redactUrl('https://u:p@h.example/x?token=abc&faculty=law')).toBe('https://u:***@h.example/x?token=***&faculty=law');
    expect(redactText('POST http://u:pw@h/x failed; see https://h/y?api_key=k1')).toBe('POST http://u:***@h/x failed; see https://h/y?api_key=***');
    const err = new Error('outer', { cause: new Error('connect to http://default:hunter2@ch:8123 refused') });
    expect(describeError(err)).not.toContain('hunter2');
  });
});
