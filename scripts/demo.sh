#!/usr/bin/env bash
# Vigie's demo command: bash scripts/demo.sh [vigie demo options]
# Installs the npm dependencies on first use, then runs `vigie demo`: a simulated exam
# morning on the embedded defaults (in-process transport + chDB) that pages before the
# collapse, writes Grafana dashboards and a post-mortem report under out/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  bash scripts/npm-ci.sh >&2
fi
exec node bin/vigie.mjs demo "$@"
