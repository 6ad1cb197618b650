/**
 * A private Kafka broker for tests that must stop, restart or reconfigure the broker
 * (the shared one at 127.0.0.1:19092 belongs to every test): `scripts/stack.sh
 * kafka-start` with its own VIGIE_STACK_DIR and free ports, optionally with the SASL and
 * TLS listeners (`VIGIE_KAFKA_SECURITY=1`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../support/daemon.ts';

const run = promisify(execFile);
const STACK = new URL('../../../scripts/stack.sh', import.meta.url).pathname;

/** A running private broker. */
export interface PrivateKafka {
  /** PLAINTEXT listener, `127.0.0.1:PORT`. */
  readonly broker: string;
  /** SASL_PLAINTEXT and SASL_SSL listeners (with `security`). */
  readonly saslBroker: string;
  readonly saslSslBroker: string;
  /** PEM of the test CA that signed the broker certificate (with `security`). */
  readonly caFile: string;
  readonly saslPassword: string;
  /** Stops the broker, keeping its data (for a bounce). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Starts a private broker (30–90 s on a busy 2-core machine). */
export async function startPrivateKafka(opts: { readonly security?: boolean } = {}): Promise<PrivateKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-private-kafka-'));
  const [port, controller, sasl, saslSsl] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const saslPassword = 'vigie-secret';
  const env = {
    ...process.env,
    VIGIE_STACK_DIR: dir,
    VIGIE_KAFKA_PORT: String(port),
    VIGIE_KAFKA_CONTROLLER_PORT: String(controller),
    VIGIE_KAFKA_SASL_PORT: String(sasl),
    VIGIE_KAFKA_SASL_SSL_PORT: String(saslSsl),
    VIGIE_KAFKA_SECURITY: opts.security ? '1' : '0',
    VIGIE_KAFKA_SASL_PASSWORD: saslPassword,
    VIGIE_STACK_TIMEOUT: '150',
  };
  const stack = async (cmd: string) => {
    try {
      await run('bash', [STACK, cmd], { env, maxBuffer: 1 << 24 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`scripts/stack.sh ${cmd} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }
  };
  await stack('kafka-start');
  return {
    broker: `127.0.0.1:${port}`,
    saslBroker: `127.0.0.1:${sasl}`,
    saslSslBroker: `127.0.0.1:${saslSsl}`,
    caFile: join(dir, 'kafka', 'tls', 'ca.pem'),
    saslPassword,
    stop: () => stack('kafka-stop'),
    start: () => stack('kafka-start'),
    async destroy() {
      await stack('kafka-stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
