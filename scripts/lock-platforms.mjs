#!/usr/bin/env node
/**
 * Keeps package-lock.json installable by `npm ci` on every platform although the npm
 * registry these machines reach does not serve some per-platform optional packages
 * (chdb's `@chdb/lib-darwin-*` and `@chdb/lib-linux-arm64-gnu` answer 404).
 *
 * Why: when npm resolves the tree here it drops those packages from the lock (their
 * manifests cannot be fetched), and `npm ci` then refuses the lock as out of sync with
 * chdb's `optionalDependencies`. An entry that names the package, its exact version and
 * its `os`/`cpu`/`libc` is all `npm ci` needs: on a platform that does not match, npm
 * skips the package without fetching it; on one that does, npm fetches that version from
 * its registry (the lock just carries no integrity hash for it, as for any entry npm
 * could not verify).
 *
 *   node scripts/lock-platforms.mjs          # add the missing entries (after `npm install`)
 *   node scripts/lock-platforms.mjs --check  # exit 1 naming what is missing (scripts/npm-ci.sh)
 *
 * Plain JavaScript so that it runs on any Node, before dependencies are installed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOCK = join(dirname(fileURLToPath(import.meta.url)), '..', 'package-lock.json');

/** `os`/`cpu`/`libc` of a per-platform package, read from its name (`…-darwin-arm64`, `…-linux-x64-gnu`). */
function platformOf(name) {
  const m = /-(darwin|linux|win32|freebsd)-(x64|arm64|ia32|arm)(?:-(gnu|musl|msvc))?$/.exec(name);
  if (!m) return undefined;
  const [, os, cpu, abi] = m;
  const libc = abi === 'gnu' ? { libc: ['glibc'] } : abi === 'musl' ? { libc: ['musl'] } : {};
  return { cpu: [cpu], ...libc, optional: true, os: [os] }; // npm's key order
}

/** Lock entries that `optionalDependencies` of locked packages require but the lock lacks. */
export function missingPlatformEntries(lock) {
  const pkgs = lock.packages ?? {};
  const missing = new Map();
  for (const [path, meta] of Object.entries(pkgs)) {
    for (const [dep, spec] of Object.entries(meta.optionalDependencies ?? {})) {
      // npm's resolution: the nearest node_modules/<dep> up from the dependent's folder.
      let dir = path;
      let found = false;
      for (;;) {
        if (pkgs[`${dir ? `${dir}/` : ''}node_modules/${dep}`]) { found = true; break; }
        if (!dir) break;
        const i = dir.lastIndexOf('node_modules/');
        dir = i <= 0 ? '' : dir.slice(0, i - 1);
      }
      if (!found) missing.set(`node_modules/${dep}`, { dep, spec, from: path || '(root)' });
    }
  }
  return [...missing.entries()];
}

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const missing = missingPlatformEntries(lock);
if (process.argv.includes('--check')) {
  if (missing.length > 0) {
    for (const [, m] of missing) console.error(`[lock] package-lock.json lacks ${m.dep}@${m.spec} (optional dependency of ${m.from})`);
    console.error('[lock] run `node scripts/lock-platforms.mjs` after `npm install` and commit package-lock.json');
    process.exit(1);
  }
  process.exit(0);
}
const problems = [];
for (const [key, m] of missing) {
  const platform = platformOf(m.dep);
  if (!/^\d+\.\d+\.\d+(?:-[\w.]+)?$/.test(m.spec)) problems.push(`${m.dep}: spec ${m.spec} of ${m.from} is not an exact version`);
  else if (!platform) problems.push(`${m.dep}: no platform in its name (optional dependency of ${m.from}); add its entry by hand`);
  else lock.packages[key] = { version: m.spec, ...platform };
}
if (problems.length > 0) {
  for (const p of problems) console.error(`[lock] ${p}`);
  process.exit(1);
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => a.localeCompare(b, 'en'))); // npm's own order
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(missing.length === 0 ? '[lock] nothing missing' : `[lock] added ${missing.map(([, m]) => `${m.dep}@${m.spec}`).join(', ')}`);
