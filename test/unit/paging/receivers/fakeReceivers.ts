/**
 * Local HTTP receivers that speak PagerDuty Events v2 and Slack's incoming-webhook
 * format (node:http, real sockets), for the paging integration tests and the benchmark.
 * The PagerDuty fake validates bodies as the real API does (400 with errors), and
 * deduplicates by dedup_key like PagerDuty: a trigger for an open incident adds nothing.
 * It can fail the next requests, hold requests open, or stop listening altogether.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as received. */
export interface FakeRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
  readonly receivedAt: number;
}

/** An incident as the fake PagerDuty tracks it. */
export interface FakeIncident {
  status: 'triggered' | 'resolved';
  /** How many trigger events arrived for this dedup_key while it was open (1 = no duplicates). */
  triggers: number;
  summary: string;
}

/** The running fakes. */
export interface FakeReceivers {
  readonly url: string;
  readonly port: number;
  readonly requests: FakeRequest[];
  /** dedup_key → incident. */
  readonly incidents: Map<string, FakeIncident>;
  /** Distinct pages (incidents opened), resolves, and every trigger event received. */
  counts(): { pages: number; resolves: number; triggerEvents: number; slack: number; invalid: number };
  /** Answers the next `n` requests with `status` (and headers, e.g. Retry-After). */
  failNext(n: number, status: number, headers?: Record<string, string>): void;
  /** Holds requests matching `pred` open (after recording and counting them) until release(). */
  hold(pred: (body: Record<string, unknown>) => boolean): void;
  release(): void;
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening (connections refused) / listens again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

/** Validates a PagerDuty Events v2 body; returns the errors (empty = valid). */
export function validatePagerDutyEvent(b: unknown, routingKey: string): string[] {
  const errors: string[] = [];
  if (!b || typeof b !== 'object') return ['body must be a JSON object'];
  const e = b as Record<string, unknown>;
  if (e['routing_key'] !== routingKey) errors.push('routing_key invalid');
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(e['event_action']))) errors.push('event_action must be trigger, acknowledge or resolve');
  if (typeof e['dedup_key'] !== 'string' || e['dedup_key'].length === 0 || e['dedup_key'].length > 255) errors.push('dedup_key must be a string of 1-255 chars');
  if (e['event_action'] === 'trigger') {
    const p = e['payload'] as Record<string, unknown> | undefined;
    if (!p || typeof p !== 'object') errors.push('payload is required for trigger');
    else {
      if (typeof p['summary'] !== 'string' || p['summary'].length === 0 || p['summary'].length > 1024) errors.push('payload.summary must be 1-1024 chars');
      if (typeof p['source'] !== 'string' || p['source'].length === 0) errors.push('payload.source is required');
      if (!SEVERITIES.has(String(p['severity']))) errors.push('payload.severity must be critical, error, warning or info');
      if (p['timestamp'] !== undefined && !Number.isFinite(Date.parse(String(p['timestamp'])))) errors.push('payload.timestamp must be ISO 8601');
    }
    if (e['links'] !== undefined && !(Array.isArray(e['links']) && e['links'].every((l: { href?: unknown }) => typeof l.href === 'string'))) errors.push('links must be [{href, text}]');
  }
  return errors;
}

/** Validates a Slack incoming-webhook body. */
export function validateSlackBody(b: unknown): string[] {
  if (!b || typeof b !== 'object') return ['body must be a JSON object'];
  const e = b as Record<string, unknown>;
  const errors: string[] = [];
  if (typeof e['text'] !== 'string' || e['text'].length === 0) errors.push('text is required');
  if (e['attachments'] !== undefined && !Array.isArray(e['attachments'])) errors.push('attachments must be an array');
  if (e['blocks'] !== undefined && !Array.isArray(e['blocks'])) errors.push('blocks must be an array');
  return errors;
}

/** Starts the fakes on 127.0.0.1 (PagerDuty at `/v2/enqueue`, Slack at `/slack`). */
export async function startFakeReceivers(opts: { routingKey: string; port?: number }): Promise<FakeReceivers> {
  const requests: FakeRequest[] = [];
  const incidents = new Map<string, FakeIncident>();
  const counts = { pages: 0, resolves: 0, triggerEvents: 0, slack: 0, invalid: 0 };
  let failures: { n: number; status: number; headers: Record<string, string> } = { n: 0, status: 500, headers: {} };
  let holdPred: ((b: Record<string, unknown>) => boolean) | undefined;
  const held: ServerResponse[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep text
    }
    requests.push({ path: req.url ?? '/', headers: req.headers, body, receivedAt: Date.now() });
    if (failures.n > 0) {
      failures.n--;
      res.writeHead(failures.status, { 'content-type': 'application/json', ...failures.headers }).end('{"status":"throttled or failing on purpose"}');
      return;
    }
    if (req.url === '/slack') {
      const errors = validateSlackBody(body);
      if (errors.length) {
        counts.invalid++;
        res.writeHead(400).end(errors.join('; '));
        return;
      }
      counts.slack++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.url !== '/v2/enqueue') {
      res.writeHead(404).end();
      return;
    }
    const errors = validatePagerDutyEvent(body, opts.routingKey);
    if (errors.length) {
      counts.invalid++;
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }));
      return;
    }
    const e = body as { event_action: string; dedup_key: string; payload?: { summary: string } };
    const inc = incidents.get(e.dedup_key);
    if (e.event_action === 'trigger') {
      counts.triggerEvents++;
      if (!inc || inc.status === 'resolved') {
        counts.pages++;
        incidents.set(e.dedup_key, { status: 'triggered', triggers: 1, summary: e.payload!.summary });
      } else inc.triggers++;
    } else if (e.event_action === 'resolve' && inc && inc.status === 'triggered') {
      inc.status = 'resolved';
      counts.resolves++;
    }
    if (holdPred?.(body as Record<string, unknown>)) {
      held.push(res);
      return;
    }
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: e.dedup_key }));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const r of held.splice(0)) r.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    incidents,
    counts: () => ({ ...counts }),
    failNext(n, status, headers = {}) {
      failures = { n, status, headers };
    },
    hold(pred) {
      holdPred = pred;
    },
    release() {
      holdPred = undefined;
      for (const r of held.splice(0)) r.destroy();
    },
    async waitFor(pred, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`fake receivers: condition not met within ${timeoutMs} ms; counts ${JSON.stringify(counts)}, ${requests.length} requests`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    down: close,
    up: () => listen(port),
    stop: close,
  };
}
