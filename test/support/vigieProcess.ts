/**
 * The `vigie` bin run as a campus engineer runs it, for the end-to-end tests that drive
 * whole mornings through separate processes (campus, plan feed): spawn with its output
 * collected and echoed under a name, run to a required exit code, poll a condition, and
 * read `vigie ingest`'s consumer lag from its self-metrics endpoint.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export { freePort } from './daemon.ts';

const ROOT = process.cwd();
const BIN = join(ROOT, 'bin/vigie.mjs');

/** A running `vigie` process with its output collected. */
export interface VigieProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  readonly out: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `vigie <args>` in the project root; its lines are echoed as `[name] …`. */
export function spawnVigie(args: readonly string[], name: string): VigieProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const take = (d: Buffer) => {
    out += d.toString();
    for (const line of d.toString().split('\n')) if (line.trim()) console.log(`[${name}] ${line}`);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

/** Runs `vigie <args>` to its end; throws with its output unless it exits `expectCode`. */
export async function runVigie(args: readonly string[], name: string, expectCode = 0): Promise<string> {
  const p = spawnVigie(args, name);
  const code = await p.exited;
  if (code !== expectCode) throw new Error(`vigie ${args.join(' ')} exited ${code}, expected ${expectCode}:\n${p.out()}`);
  return p.out();
}

/** Polls `cond` every 500 ms until it holds; fails naming `what` after `ms`. */
export async function until(what: string, ms: number, cond: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The consumer lag `vigie ingest` reports on its self-metrics endpoint, or null when it does not answer. */
export async function ingestLag(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const m = /^pipeline_consumer_lag(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
