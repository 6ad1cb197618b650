/** A webhook receiver for integration tests: records every POST (Alertmanager, PagerDuty-like, Slack-like). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got; `body` is parsed JSON when it parses, else the raw text. */
export interface ReceivedRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  /** Wall-clock time it arrived (epoch ms): when a person would have been paged. */
  readonly receivedAtMs: number;
}

/** A running receiver; `url` has no trailing slash (append a path such as `/alertmanager`). */
export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Resolves with the first request matching `pred` (already received or future); rejects after `timeoutMs`. */
  waitFor(pred: (r: ReceivedRequest) => boolean, timeoutMs?: number): Promise<ReceivedRequest>;
  /** Makes the next `n` requests fail with `status` (to test retries of an unreachable receiver). */
  failNext(n: number, status?: number): void;
  stop(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 and a free port; every request is answered 200 unless told otherwise. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const waiters: { pred: (r: ReceivedRequest) => boolean; resolve: (r: ReceivedRequest) => void }[] = [];
  let failures = 0;
  let failStatus = 503;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus).end('failing on purpose');
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text.length > 0 ? JSON.parse(text) : text;
      } catch {
        // not JSON: keep the text
      }
      const r: ReceivedRequest = { path: req.url ?? '/', method: req.method ?? 'GET', headers: req.headers, body, receivedAtMs: Date.now() };
      received.push(r);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (w.pred(r)) {
          waiters.splice(i, 1);
          w.resolve(r);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor(pred, timeoutMs = 10_000) {
      const hit = received.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise<ReceivedRequest>((resolve, reject) => {
        const w = {
          pred,
          resolve: (r: ReceivedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`webhook: no matching request within ${timeoutMs} ms (received ${received.length}: ${received.map((r) => r.path).join(', ')})`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    failNext(n, status = 503) {
      failures = n;
      failStatus = status;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
