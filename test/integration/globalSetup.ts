/**
 * Vitest global setup for the integration suite: fails fast, with the command to run,
 * when the stack that `scripts/stack.sh start` provides is not there.
 */
import { access, constants } from 'node:fs/promises';
import { KafkaTransport } from '../../transport/kafka.ts';
import { ALERTMANAGER_BIN } from './support/alertmanager.ts';
import { kafkaBrokers } from './support/kafka.ts';

/** Checks Kafka (admin connect + metadata within ~10 s) and the Alertmanager binary. */
export default async function setup(): Promise<void> {
  const brokers = kafkaBrokers();
  const transport = new KafkaTransport({ brokers, clientId: 'vigie-test-setup', logLevel: 'nothing' });
  const deadline = Date.now() + 10_000;
  let lastError: unknown;
  for (;;) {
    try {
      await transport.ping();
      break;
    } catch (err) {
      lastError = err;
      if (Date.now() >= deadline) {
        const why = lastError instanceof Error ? (lastError.cause instanceof Error ? lastError.cause.message : lastError.message) : String(lastError);
        throw new Error(`Kafka is not reachable at ${brokers.join(',')} (${why}) — run \`bash scripts/stack.sh start\``);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await access(ALERTMANAGER_BIN, constants.X_OK);
  } catch {
    throw new Error(`Alertmanager is not installed at ${ALERTMANAGER_BIN} — run \`bash scripts/stack.sh start\` (it installs prometheus-alertmanager)`);
  }
}
