/**
 * OTLP/HTTP gateway: any OpenTelemetry SDK or Collector (`otlphttp` exporter) can send
 * metrics to Vigie. `POST /v1/metrics` takes protobuf or JSON, optionally gzip; each
 * resource becomes one transport message keyed `service.name/host.name`. Bearer-token
 * auth, a body-size limit (before and after decompression) and back-pressure answers
 * with `Retry-After` (429 when too many requests are in flight, 503 when the producer's
 * buffer is full) follow the OTLP/HTTP specification, so senders retry instead of
 * dropping. The same server takes Prometheus remote write on `POST /api/v1/write`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { timingSafeEqual } from 'node:crypto';
import { DecodeError, describeError } from '../core/errors.ts';
import { selfMeter } from '../core/selfTelemetry.ts';
import { decodeMetricsRequest, type OtlpMetricsRequest } from '../otlp/decode.ts';
import { requestFromJson, splitByResource } from '../otlp/request.ts';
import type { OutgoingMessage, TransportProducer } from '../transport/types.ts';
import { BufferFullError } from './durableProducer.ts';
import { batchKey, encodeBatch, type PointBatch } from './pointBatch.ts';
import { decodeRemoteWrite, remoteWriteToBatches } from './remoteWrite.ts';

const gunzipAsync = promisify(gunzip);

/** Options of {@link startOtlpGateway}. */
export interface OtlpGatewayOptions {
  readonly producer: TransportProducer;
  readonly topic: string;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 = any free port. */
  readonly port: number;
  /** Accepted bearer tokens; empty = no authentication (loopback use only). */
  readonly bearerTokens?: readonly string[];
  /** Largest body accepted, compressed and decompressed; default 8 MiB. */
  readonly maxBodyBytes?: number;
  /** Requests processed at once before answering 429; default 64. */
  readonly maxInFlight?: number;
  /** `Retry-After` seconds on 429/503; default 5. */
  readonly retryAfterSeconds?: number;
  /** Resource attributes given to remote-write series (`service.name`, `host.name`). */
  readonly remoteWriteResource?: Readonly<Record<string, string>>;
  /** Called for each refused request (logging). */
  readonly onReject?: (status: number, reason: string, detail: string) => void;
}

/** Counters of a running gateway. */
export interface OtlpGatewayStats {
  readonly requests: number;
  readonly accepted: number;
  readonly messages: number;
  readonly points: number;
  /** Refused requests by reason (`unauthorized`, `too_large`, `bad_request`, `unsupported_media_type`, `throttled`, `unavailable`, `not_found`). */
  readonly rejected: Readonly<Record<string, number>>;
}

/** A running gateway. */
export interface OtlpGateway {
  /** Base URL, e.g. `http://127.0.0.1:4318`. */
  readonly url: string;
  stats(): OtlpGatewayStats;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

const selfMetrics = (() => {
  const m = selfMeter('vigie.collectors');
  return {
    requests: m.createCounter('collectors.gateway.requests', { description: 'Requests answered by the gateway, by outcome' }),
    points: m.createCounter('collectors.gateway.points', { description: 'Data points accepted by the gateway' }),
  };
})();

/** Encodes a `google.rpc.Status` {code, message}: the OTLP/HTTP protobuf error body. */
function rpcStatus(code: number, message: string): Uint8Array {
  const msg = Buffer.from(message);
  const out: number[] = [0x08, ...varint(code), 0x12, ...varint(msg.length)];
  return Buffer.concat([Uint8Array.from(out), msg]);
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
// gRPC codes the OTLP spec pairs with HTTP statuses.
const GRPC_CODE: Readonly<Record<number, number>> = { 400: 3, 401: 16, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14 };

function tokenMatches(given: string, accepted: readonly string[]): boolean {
  const g = Buffer.from(given);
  let ok = false;
  for (const t of accepted) {
    const b = Buffer.from(t);
    if (b.length === g.length && timingSafeEqual(b, g)) ok = true;
  }
  return ok;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new HttpError(413, 'too_large', `body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new HttpError(413, 'too_large', `body exceeds the limit of ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Starts the gateway; resolves once it listens. */
export async function startOtlpGateway(opts: OtlpGatewayOptions): Promise<OtlpGateway> {
  const limit = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const maxInFlight = opts.maxInFlight ?? 64;
  const retryAfter = String(opts.retryAfterSeconds ?? 5);
  const tokens = opts.bearerTokens ?? [];
  const s = { requests: 0, accepted: 0, messages: 0, points: 0, rejected: {} as Record<string, number> };
  let inFlight = 0;

  const send = async (messages: OutgoingMessage[]): Promise<void> => {
    if (messages.length === 0) return;
    try {
      await opts.producer.send(opts.topic, messages);
    } catch (err) {
      if (err instanceof BufferFullError) throw new HttpError(503, 'unavailable', 'Vigie cannot take more data now (producer buffer full); retry later');
      throw new HttpError(503, 'unavailable', `Vigie cannot forward to its transport: ${describeError(err)}`);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<{ status: number; body: Uint8Array | string; type: string }> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/health' || path === '/-/ready')) return { status: 200, body: 'ok\n', type: 'text/plain' };
    if (req.method !== 'POST' || (path !== '/v1/metrics' && path !== '/api/v1/write')) {
      throw new HttpError(404, 'not_found', `no endpoint ${req.method} ${path}; use POST /v1/metrics (OTLP) or POST /api/v1/write (Prometheus remote write)`);
    }
    if (tokens.length > 0) {
      const auth = req.headers.authorization ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !tokenMatches(m[1]!.trim(), tokens)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="vigie"');
        throw new HttpError(401, 'unauthorized', auth === '' ? 'missing Authorization: Bearer token' : 'bearer token not accepted');
      }
    }
    if (inFlight > maxInFlight) throw new HttpError(429, 'throttled', `more than ${maxInFlight} requests in flight; retry after ${retryAfter} s`);
    let body = await readBody(req, limit);
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

    if (path === '/api/v1/write') {
      if (encoding !== 'snappy') throw new HttpError(415, 'unsupported_media_type', `remote write needs Content-Encoding: snappy, got "${encoding}"`);
      let batches: PointBatch[];
      try {
        batches = remoteWriteToBatches(decodeRemoteWrite(body, limit), opts.remoteWriteResource ?? {}, Date.now());
      } catch (err) {
        throw new HttpError(400, 'bad_request', `remote write body rejected: ${(err as Error).message}`);
      }
      await send(batches.map((b) => ({ key: batchKey(b), value: encodeBatch(b) })));
      s.messages += batches.length;
      const n = batches.reduce((k, b) => k + b.metrics.reduce((j, m) => j + m.points.length, 0), 0);
      s.points += n;
      selfMetrics.points.add(n);
      return { status: 204, body: '', type: 'text/plain' };
    }

    if (encoding === 'gzip') {
      try {
        body = await gunzipAsync(body, { maxOutputLength: limit });
      } catch (err) {
        const tooBig = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|too large/i.test((err as Error).message);
        if (tooBig) throw new HttpError(413, 'too_large', `decompressed body exceeds the limit of ${limit} bytes`);
        throw new HttpError(400, 'bad_request', `gzip body cannot be decompressed: ${(err as Error).message}`);
      }
    } else if (encoding !== 'identity') {
      throw new HttpError(415, 'unsupported_media_type', `Content-Encoding "${encoding}" not supported; use gzip or none`);
    }
    let request: OtlpMetricsRequest;
    try {
      if (type === 'application/x-protobuf') request = decodeMetricsRequest(body);
      else if (type === 'application/json') request = requestFromJson(body.toString('utf8'));
      else throw new HttpError(415, 'unsupported_media_type', `Content-Type "${type}" not supported; use application/x-protobuf or application/json`);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'bad_request', err instanceof DecodeError ? err.message : describeError(err));
    }
    const parts = splitByResource(request);
    await send(parts.map((p) => ({ key: p.key, value: p.value })));
    s.messages += parts.length;
    const n = parts.reduce((k, p) => k + p.points, 0);
    s.points += n;
    selfMetrics.points.add(n);
    // An empty ExportMetricsServiceResponse: full success.
    return type === 'application/json' ? { status: 200, body: '{}', type } : { status: 200, body: new Uint8Array(0), type };
  };

  const server: Server = createServer((req, res) => {
    s.requests++;
    inFlight++;
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    handle(req, res)
      .then(
        (r) => {
          s.accepted++;
          selfMetrics.requests.add(1, { outcome: 'accepted' });
          res.writeHead(r.status, { 'Content-Type': r.type }).end(r.body);
        },
        (err: unknown) => {
          const e = err instanceof HttpError ? err : new HttpError(500, 'internal', describeError(err));
          s.rejected[e.reason] = (s.rejected[e.reason] ?? 0) + 1;
          selfMetrics.requests.add(1, { outcome: e.reason });
          opts.onReject?.(e.status, e.reason, e.message);
          if (e.status === 429 || e.status === 503) res.setHeader('Retry-After', retryAfter);
          if (e.status === 413) res.setHeader('Connection', 'close');
          if (isJson) res.writeHead(e.status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ code: GRPC_CODE[e.status] ?? 13, message: e.message }));
          else res.writeHead(e.status, { 'Content-Type': 'application/x-protobuf' }).end(rpcStatus(GRPC_CODE[e.status] ?? 13, e.message));
          // Unread request data would otherwise keep the socket busy.
          req.resume();
        },
      )
      .finally(() => inFlight--);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    stats: () => ({ ...s, rejected: { ...s.rejected } }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
