#!/usr/bin/env bash
# Clean install of the Node dependencies from package-lock.json (`npm ci`).
#
# Known problem: the lock file lacks chdb's optional per-platform packages
# (@chdb/lib-darwin-*, @chdb/lib-linux-arm64-gnu), which the registry mirror these
# machines use answers with 404, so npm 11's `npm ci` refuses the lock as out of sync.
# Until the lock is regenerated where those packages resolve, fall back to
# `npm install --no-save` (same versions where the lock pins them, lock file untouched)
# and say so loudly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
if npm ci --no-audit --no-fund 2>&1 | tee "$out"; then
  exit 0
fi
if grep -q 'can only install packages when your package.json and package-lock.json' "$out"; then
  echo "[npm-ci] WARNING: npm ci refused package-lock.json (out of sync, see above); falling back to 'npm install --no-save'" >&2
  npm install --no-save --no-audit --no-fund
  exit 0
fi
exit 1
