/**
 * Deadlines for long, CPU-bound test steps (a simulated morning through the chain) that
 * follow what the step waits for: its own progress. A wall-clock budget for the whole
 * step is a guess that fails on a busy machine (the same morning takes 1 min idle and
 * 8 min beside other work); a step that must report progress at least every `stallMs`
 * fails as soon as it really stops, idle or busy, and names what it was waiting for.
 *
 * The vitest-level timeouts of such tests are only a backstop for a hung process
 * (`STEP_BACKSTOP_MS`).
 */

/** Vitest timeout for tests and hooks guarded by {@link untilStalled}: a backstop, not a budget. */
export const STEP_BACKSTOP_MS = 30 * 60_000;

/** A progress beat for {@link untilStalled}: call it whenever the step moved forward. */
export type Beat = (what?: string) => void;

/**
 * Runs `step`, failing it when `beat` was not called for `stallMs` (default 2 min: one
 * simulated collection costs well under a CPU-second, so even a machine ten times
 * oversubscribed beats every few seconds). The error says what the last beat reported.
 */
export async function untilStalled<T>(what: string, step: (beat: Beat) => Promise<T>, stallMs = 120_000): Promise<T> {
  let last = Date.now();
  let lastWhat = 'nothing yet';
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (Date.now() - last > stallMs) reject(new Error(`${what}: no progress for ${Math.round(stallMs / 1000)} s (last: ${lastWhat})`));
    }, Math.min(1_000, stallMs / 4));
    timer.unref();
  });
  const beat: Beat = (w) => {
    last = Date.now();
    if (w !== undefined) lastWhat = w;
  };
  try {
    return await Promise.race([step(beat), stalled]);
  } finally {
    clearInterval(timer);
  }
}

/**
 * `storage` whose client calls `beat` on every call (inserts, queries): a pipeline
 * storing a backlog makes progress even when no new data arrives, e.g. while the chain
 * drains after the simulated morning ended.
 */
export function beatingStorage<S extends { readonly client: object }>(storage: S, beat: Beat): S {
  const client = new Proxy(storage.client, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        beat(`storage ${String(key)}`);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { ...storage, client };
}
