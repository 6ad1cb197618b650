/**
 * The `vigie` bin as a child process, the way an operator runs it: output kept for the
 * failure message, waits on printed lines and on the self-metrics endpoint, graceful
 * stop (SIGTERM) and `kill -9`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../support-pipeline/fixtures.ts';

const BIN = fileURLToPath(new URL('../../../bin/vigie.mjs', import.meta.url));

/** A running `vigie …` process. */
export interface VigieProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (stderr and stdout). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Waits until its output matches `re`; returns the match. Fails with the output. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** `kill -9`. */
  kill9(): Promise<void>;
}

/** Starts `node bin/vigie.mjs ...args` in `cwd`. */
export function startVigie(name: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): VigieProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (c) => {
      code = c;
      resolve(c);
    }),
  );
  const p: VigieProcess = {
    name,
    child,
    output: () => out,
    exited,
    async waitForOutput(re, timeoutMs) {
      try {
        await waitUntil(() => re.test(out) || code !== undefined, timeoutMs, `${name} to print ${re}`);
      } catch (err) {
        throw new Error(`${(err as Error).message}; ${name} printed:\n${out}`);
      }
      const m = out.match(re);
      if (!m) throw new Error(`${name} exited (code ${code}) before printing ${re}; it printed:\n${out}`);
      return m;
    },
    async stop() {
      if (code === undefined) child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (code === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
  return p;
}

/** Sum of a metric's values (all label sets) on a Prometheus text endpoint; 0 when absent. */
export async function scrapeSum(url: string, metric: string): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  const re = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, 'gm');
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}
