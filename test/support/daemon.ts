/**
 * Starts a private server binary for a test (Alertmanager, Prometheus): a free
 * 127.0.0.1 port, its own temp directory, readiness on `GET /-/ready`, and a retry when
 * the probed port was taken before the process bound it.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';

/** A running private daemon. */
export interface RunningDaemon {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

/** What to start. `dir` is removed on stop or on failure. */
export interface DaemonSpec {
  readonly name: string;
  readonly bin: string;
  readonly dir: string;
  readonly args: (port: number, url: string) => string[];
  readonly readyTimeoutMs: number;
}

/** A TCP port free on 127.0.0.1 right now (it may be taken before it is bound: callers retry). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the daemon and waits for `GET /-/ready`; throws with its output if it never gets there. */
export async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  // A port probed free can be taken before the daemon binds it: retry a few times.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(spec.bin, spec.args(port, url), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.once('error', (err) => (out += `spawn error: ${err.message}\n`));

    const deadline = Date.now() + spec.readyTimeoutMs;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/-/ready`);
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      const stop = async (): Promise<void> => {
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exit;
          clearTimeout(t);
        }
        await rm(spec.dir, { recursive: true, force: true });
      };
      return { url, output: () => out, stop };
    }
    if (!exited) child.kill('SIGKILL');
    await exit;
    if (attempt >= 2 || !/address already in use/i.test(out)) {
      await rm(spec.dir, { recursive: true, force: true });
      throw new Error(`${spec.name} (${spec.bin}) did not become ready on ${url}:\n${out.slice(-2000)}`);
    }
  }
}
