#!/usr/bin/env bash
# Clean install of the Node dependencies exactly as package-lock.json pins them
# (`npm ci`, on the Node that scripts/node.sh picks). No fallback: if `npm ci` refuses
# the lock or fails, this fails with npm's message.
#
#   bash scripts/npm-ci.sh              # always install
#   bash scripts/npm-ci.sh --if-needed  # only if node_modules was not installed from this lock
#
# After a successful install the lock's hash is written to node_modules/.vigie-lock.sha256;
# --if-needed compares contents, not modification times (a checkout touches files).
#
# The lock carries entries for chdb's per-platform optional packages that the npm
# registry reached here does not serve (@chdb/lib-darwin-*, lib-linux-arm64-gnu); npm
# drops them when it re-resolves chdb, and `npm ci` then refuses the lock. After an
# `npm install` that changes dependencies, run `node scripts/lock-platforms.mjs` and
# commit package-lock.json; the check below names what is missing otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/node.sh
STAMP=node_modules/.vigie-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
case "${1:-}" in
  --if-needed) [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && exit 0 ;;
  "") ;;
  *) echo "usage: bash scripts/npm-ci.sh [--if-needed]" >&2; exit 2 ;;
esac
node scripts/lock-platforms.mjs --check
npm ci --no-audit --no-fund
echo "$want" >"$STAMP"
