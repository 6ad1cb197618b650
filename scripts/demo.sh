#!/usr/bin/env bash
# Vigie's demo command: bash scripts/demo.sh [vigie demo options]
# Puts Node >= 22.15 on PATH (scripts/node.sh fetches Node 24 when the machine's Node is
# older), installs the npm dependencies when node_modules does not match the lock, then
# runs `vigie demo`: a simulated exam morning on the embedded defaults (in-process
# transport + chDB) that pages before the collapse, writes Grafana dashboards and a
# post-mortem report under out/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/node.sh
bash scripts/npm-ci.sh --if-needed >&2
exec node bin/vigie.mjs demo "$@"
