/**
 * Prometheus duration strings (`15s`, `5m`, `1h30m`, `250ms`, `1d`), as used in rule
 * files and PromQL range selectors. Units must appear in descending order, as in
 * Prometheus `model.ParseDuration`.
 */

const UNITS: readonly (readonly [string, number])[] = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Parses a duration into milliseconds, or returns undefined when the text is not one. */
export function tryParseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = DURATION_RE.exec(text);
  if (!m || text === '') return undefined;
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const g = m[i + 1];
    if (g !== undefined) ms += Number(g) * UNITS[i]![1];
  }
  return ms;
}

/** Parses a duration into milliseconds; throws a message naming the accepted form. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw new Error(`invalid duration "${text}": expected e.g. 30s, 5m, 1h30m (units y w d h m s ms, largest first)`);
  }
  return ms;
}

/** Formats milliseconds as a Prometheus duration (`1h30m`, `15s`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    if (unit === 'y' || unit === 'w') continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
