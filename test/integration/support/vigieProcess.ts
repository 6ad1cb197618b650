/**
 * The `vigie` bin as a child process, the way an operator runs it: output kept for the
 * failure message (and echoed as `[name] …` on request, for long e2e mornings), waits on
 * printed lines and on the self-metrics endpoint, runs to a required exit code, graceful
 * stop (SIGTERM) and `kill -9`. Shared by the integration and e2e tests.
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

/** Starts `node bin/vigie.mjs ...args` in `cwd`; `echo` prints its lines as `[name] …` as they come. */
export function startVigie(name: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; echo?: boolean } = {}): VigieProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const take = (c: Buffer) => {
    out += c.toString();
    if (opts.echo) for (const line of c.toString().split('\n')) if (line.trim()) console.log(`[${name}] ${line}`);
  };
  child.stderr!.on('data', take);
  child.stdout!.on('data', take);
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

/** Runs `vigie ...args` to its end (echoed); throws with its output unless it exits `expectCode`. */
export async function runVigie(name: string, args: readonly string[], expectCode = 0): Promise<string> {
  const p = startVigie(name, args, { echo: true });
  const code = await p.exited;
  if (code !== expectCode) throw new Error(`vigie ${args.join(' ')} exited ${code}, expected ${expectCode}:\n${p.output()}`);
  return p.output();
}

/** The consumer lag `vigie ingest` reports on its self-metrics endpoint, or null when it does not answer or has not reported it yet. */
export async function ingestLag(metricsPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const m = /^pipeline_consumer_lag(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
