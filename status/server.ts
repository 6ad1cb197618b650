/**
 * Serves the status page (`/`) and its JSON (`/status.json`, public views only) from
 * the state file, read on every request so operator changes from the CLI show at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { publicView } from './notice.ts';
import { renderStatusPage } from './page.ts';
import { readStatusState } from './store.ts';

/** A running status server. */
export interface StatusServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the server on `host:port` (port 0 = a free one). */
export async function startStatusServer(opts: { statePath: string; port: number; host?: string; clock?: () => number }): Promise<StatusServer> {
  const clock = opts.clock ?? Date.now;
  const server: Server = createServer((req, res) => {
    try {
      const state = readStatusState(opts.statePath);
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') res.writeHead(405, { allow: 'GET' }).end();
      else if (path === '/' || path === '/index.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(renderStatusPage(state.notices, clock()));
      else if (path === '/status.json')
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(JSON.stringify({ notices: state.notices.filter((n) => n.state !== 'held').map(publicView) }));
      else res.writeHead(404).end('not found');
    } catch {
      // Never show internals to students: a broken state file is a generic error page.
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('Statut momentanément indisponible / Status temporarily unavailable');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
