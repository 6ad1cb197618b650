/**
 * `vigie gateway`: the OTLP/HTTP receiver (and Prometheus remote-write receiver) in
 * front of Kafka, so any OpenTelemetry SDK or Collector, or an existing Prometheus,
 * sends to Vigie. Produces through the durable producer (bounded buffer, optional disk
 * spool, jittered retries), whose refusals become 503 + Retry-After for the sender.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { startSelfTelemetry } from '../../core/selfTelemetry.ts';
import { DurableProducer } from '../../collectors/durableProducer.ts';
import { startOtlpGateway } from '../../collectors/otlpGateway.ts';
import { createTransport, PRODUCER_COMPRESSIONS, TOPICS, type ProducerCompression } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';

interface GatewayFlags {
  compression: ProducerCompression;
  kafka: string;
  topic: string;
  listen: string;
  tokenFile?: string;
  maxBody: number;
  maxInFlight: number;
  bufferMb: number;
  spoolDir?: string;
  spoolMb: number;
  metricsPort: number;
}

/** Parses HOST:PORT for a listen address. */
function listenOption(v: string): string {
  if (!/^[A-Za-z0-9_.:[\]-]+:\d{1,5}$/.test(v)) throw new InvalidArgumentError(`--listen expects HOST:PORT (e.g. 127.0.0.1:4318), got "${v}"`);
  return v;
}

/** Reads bearer tokens: one per non-empty line of the file, plus `VIGIE_GATEWAY_TOKEN`. */
export function readTokens(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const tokens: string[] = [];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read --token-file ${file}: ${(err as Error).message}`);
    }
    for (const line of text.split('\n')) if (line.trim() !== '' && !line.startsWith('#')) tokens.push(line.trim());
    if (tokens.length === 0) throw new ConfigError(`--token-file ${file} holds no token (one per line)`);
  }
  const fromEnv = env['VIGIE_GATEWAY_TOKEN'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') tokens.push(fromEnv.trim());
  return tokens;
}

/** Registers `vigie gateway`. */
export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('Receive OTLP/HTTP metrics (POST /v1/metrics, protobuf or JSON, gzip) and Prometheus remote write (POST /api/v1/write) and produce them to Kafka.')
    .requiredOption('--kafka <host:port>', 'Kafka bootstrap broker', kafkaOption)
    .option('--topic <name>', 'topic to produce to', TOPICS.metrics)
    .option('--listen <host:port>', 'address to listen on', listenOption, '127.0.0.1:4318')
    .option('--token-file <file>', 'accepted bearer tokens, one per line (also VIGIE_GATEWAY_TOKEN); none = no auth')
    .option('--max-body <bytes>', 'largest request body, compressed and decompressed', floatOption('--max-body'), 8 * 1024 * 1024)
    .option('--max-in-flight <n>', 'requests processed at once before answering 429', floatOption('--max-in-flight'), 64)
    .option('--buffer-mb <n>', 'in-memory buffer while Kafka is slow or down', floatOption('--buffer-mb'), 64)
    .option('--spool-dir <dir>', 'disk spool used when the buffer is full (kept across restarts)')
    .option('--spool-mb <n>', 'disk spool bound', floatOption('--spool-mb'), 1024)
    .addOption(new Option('--compression <codec>', 'Kafka record-batch compression').choices(PRODUCER_COMPRESSIONS).default('gzip'))
    .option('--metrics-port <port>', 'self-monitoring Prometheus endpoint port (0 = off)', floatOption('--metrics-port'), 0)
    .action(async (o: GatewayFlags) => {
      const [, host, portText] = /^(.*):(\d+)$/.exec(o.listen)!;
      const port = Number(portText);
      if (port > 65535) throw new ConfigError(`--listen port must be ≤ 65535, got ${port}`);
      if (!(o.maxBody >= 1024)) throw new ConfigError(`--max-body must be at least 1024 bytes, got ${o.maxBody}`);
      if (!(o.maxInFlight >= 1)) throw new ConfigError(`--max-in-flight must be at least 1, got ${o.maxInFlight}`);
      if (!(o.bufferMb > 0)) throw new ConfigError(`--buffer-mb must be positive, got ${o.bufferMb}`);
      const tokens = readTokens(o.tokenFile);
      const telemetry = o.metricsPort > 0 ? await startSelfTelemetry({ port: o.metricsPort, serviceName: 'vigie-gateway' }) : null;
      const transport = createTransport({ kafkaBrokers: [o.kafka], clientId: 'vigie-gateway' });
      await transport.ensureTopics([{ name: o.topic, partitions: 4 }]).catch((err: Error) => {
        process.stderr.write(`[gateway] cannot check topic ${o.topic} now (${err.message}); producing anyway, Kafka may create it\n`);
      });
      const producer = new DurableProducer({
        inner: transport.producer({ compression: o.compression }),
        maxBufferBytes: o.bufferMb * 1024 * 1024,
        maxSpoolBytes: o.spoolMb * 1024 * 1024,
        ...(o.spoolDir !== undefined ? { spoolDir: o.spoolDir } : {}),
        idleDisconnectMs: 5_000,
        onError: (err, attempt, delay) =>
          process.stderr.write(`[gateway] delivery to Kafka failed (attempt ${attempt}, retry in ${delay} ms): ${(err as Error).message}\n`),
      });
      await producer.connect();
      const gw = await startOtlpGateway({
        producer,
        topic: o.topic,
        host: host!.replace(/^\[|\]$/g, ''),
        port,
        bearerTokens: tokens,
        maxBodyBytes: o.maxBody,
        maxInFlight: o.maxInFlight,
        onReject: (status, reason, detail) => process.stderr.write(`[gateway] ${status} ${reason}: ${detail}\n`),
      });
      process.stderr.write(`[gateway] listening on ${gw.url} (auth ${tokens.length > 0 ? 'bearer' : 'off'}), producing to ${o.topic} on ${o.kafka}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve).once('SIGTERM', resolve);
      });
      await gw.close();
      await producer.disconnect();
      const s = gw.stats();
      const p = producer.stats();
      process.stderr.write(
        `[gateway] stopped: ${s.requests} requests, ${s.points} points, rejected ${JSON.stringify(s.rejected)}; delivered ${p.delivered}, dropped ${p.dropped}, spooled ${p.spooledMessages}\n`,
      );
      await telemetry?.shutdown();
    });
}
