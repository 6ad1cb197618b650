/**
 * OTLP `ExportMetricsServiceRequest` as a plain object ↔ bytes, for producers that do
 * not go through the OTel SDK: the OTLP/HTTP gateway (protobuf or JSON bodies, split
 * per resource so each message keeps one transport key) and the collectors that build
 * their own points (access logs, scrapes, remote write). Uses the same generated
 * protobufjs code as the decoder (`otlp-proto-decoder`).
 */
import { createRequire } from 'node:module';
import { DecodeError } from '../core/errors.ts';
import type { OtlpMetricsRequest, OtlpResourceMetrics } from './decode.ts';
import { promLabelValue, type OtlpKeyValue } from './normalize.ts';

interface GeneratedType {
  fromObject(o: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
}
const require = createRequire(import.meta.url);
const generated = require('otlp-proto-decoder/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: GeneratedType } } } } };
};
const RequestType = generated.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/**
 * Encodes a request given as a plain object (protobuf JSON mapping field names;
 * 64-bit integers as decimal strings or numbers) to OTLP/protobuf.
 */
export function encodeRequestObject(request: OtlpMetricsRequest | Record<string, unknown>): Uint8Array {
  return RequestType.encode(RequestType.fromObject(request)).finish();
}

/**
 * Parses an OTLP/JSON body (the OTLP/HTTP JSON encoding: lowerCamelCase keys, int64 as
 * strings, enums as integers). Throws `DecodeError('malformed_otlp_json')` naming the problem.
 */
export function requestFromJson(text: string): OtlpMetricsRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DecodeError('malformed_otlp_json', `OTLP/JSON body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DecodeError('malformed_otlp_json', 'OTLP/JSON body must be an object with "resourceMetrics"');
  }
  try {
    return RequestType.fromObject(parsed) as OtlpMetricsRequest;
  } catch (err) {
    throw new DecodeError('malformed_otlp_json', `OTLP/JSON body does not fit ExportMetricsServiceRequest: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Transport key of a decoded resource: `service.name/host.name`, like the SDK exporter's. */
export function resourceKeyOf(rm: OtlpResourceMetrics): string {
  let service = '';
  let host = '';
  for (const kv of (rm.resource?.attributes ?? []) as readonly OtlpKeyValue[]) {
    if (kv.key === 'service.name') service = promLabelValue(kv.value);
    else if (kv.key === 'host.name') host = promLabelValue(kv.value);
  }
  return `${service}/${host}`;
}

/** One message per resource of `request`: its key and its own serialized request. */
export function splitByResource(request: OtlpMetricsRequest): { key: string; value: Uint8Array; points: number }[] {
  return (request.resourceMetrics ?? []).map((rm) => ({
    key: resourceKeyOf(rm),
    value: encodeRequestObject({ resourceMetrics: [rm] }),
    points: countPoints(rm),
  }));
}

/** Data points (not samples) of one resource, for accounting. */
export function countPoints(rm: OtlpResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics ?? []) {
    for (const m of sm.metrics ?? []) {
      n +=
        (m.gauge?.dataPoints?.length ?? 0) +
        (m.sum?.dataPoints?.length ?? 0) +
        (m.histogram?.dataPoints?.length ?? 0) +
        (m.exponentialHistogram?.dataPoints?.length ?? 0) +
        (m.summary?.dataPoints?.length ?? 0);
    }
  }
  return n;
}
