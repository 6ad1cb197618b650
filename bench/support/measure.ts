/** Measurement helpers shared by the benchmarks: order statistics, CPU time, the result file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Nearest-rank quantile (`q` in [0, 1]) of `xs`, in any order; null when empty. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Median (mean of the two middle values for an even count); null when empty. */
export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** CPU time of this process so far (user + system), in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Writes `result` as indented JSON to `path` (creating its folder) and prints it. */
export function writeResult(path: string | URL, result: unknown): void {
  const json = JSON.stringify(result, null, 2) + '\n';
  const file = path instanceof URL ? fileURLToPath(path) : path;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, json);
  process.stdout.write(json);
}
