#!/usr/bin/env bash
# Vigie's test command: bash scripts/test.sh [--skip-typecheck] [-- FILE...]
#   (with files after --, only those test files run, in whichever suite holds them)
#
# 1. Node >= 22.15 on PATH (scripts/node.sh fetches Node 24 from the npm registry when
#    the machine's Node is older; VIGIE_NODE=/path/to/node forces one)
# 2. npm ci when node_modules was not installed from this package-lock.json
# 3. bash scripts/stack.sh start (Kafka + Alertmanager on 127.0.0.1; installs what is
#    missing). The services this run started are stopped when it ends, however it ends;
#    services that were already running are left running.
# 4. typecheck (tsc --noEmit), 5. unit suite, 6. integration suite (vitest projects)
#
# The stack's ports and state directory come from the environment as for stack.sh
# (VIGIE_KAFKA_PORT, VIGIE_ALERTMANAGER_PORT, VIGIE_STACK_DIR, ...); the tests find the
# broker through VIGIE_KAFKA_PORT / VIGIE_KAFKA_BROKERS.
# Every step runs even if an earlier one failed (except integration when the stack is
# down); the exit code is non-zero if any step failed. The last lines give the test
# counts ("N passed, N failed") and which steps failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SKIP_TYPECHECK=0
FILES=()
while (($# > 0)); do
  case "$1" in
    --skip-typecheck) SKIP_TYPECHECK=1 ;;
    --) shift; FILES=("$@"); break ;;
    *) echo "usage: bash scripts/test.sh [--skip-typecheck] [-- FILE...]" >&2; exit 2 ;;
  esac
  shift
done

source scripts/node.sh
echo "[test] node $(node -v) ($(command -v node))"

t_start=$SECONDS
failed=()
passed=()
started=()
RESULTS="$(mktemp -d)"

stop_started() {
  local rc=$?
  if ((${#started[@]} > 0)); then
    echo "[test] stopping what this run started: ${started[*]}"
    bash scripts/stack.sh stop "${started[@]}" || true
  fi
  rm -rf "$RESULTS"
  exit "$rc"
}
trap stop_started EXIT
trap 'exit 130' INT TERM

step() {
  local name="$1"
  shift
  local t0=$SECONDS
  echo "[test] ==> $name"
  if "$@"; then
    echo "[test] <== $name: ok ($((SECONDS - t0)) s)"
    passed+=("$name")
    return 0
  fi
  echo "[test] <== $name: FAILED ($((SECONDS - t0)) s)" >&2
  failed+=("$name")
  return 1
}

step "npm ci" bash scripts/npm-ci.sh --if-needed || { echo "[test] FAILED: npm ci" >&2; exit 1; }

# Which services are running before we start anything: only the others are ours to stop.
status="$(bash scripts/stack.sh status 2>&1 || true)"
for s in kafka alertmanager; do
  grep -q "\] $s: running\|\] $s: starting" <<<"$status" || started+=("$s")
done
stack_ok=1
step "stack start" bash scripts/stack.sh start || stack_ok=0
# The live drill's web stack (nginx, PHP-FPM from Debian; vegeta built from the Go proxy,
# cached). After the stack: both use apt. A failed install fails the drill test, never skips it.
step "drill stack" bash -c 'bash scripts/drill-stack.sh >"$0" 2>&1 || { tail -n 20 "$0" >&2; exit 1; }' "$RESULTS/drill-stack.log" || true

# The Go peers the integration suite tests against: Prometheus 3 (PromQL conformance)
# and a stock OpenTelemetry Collector, built from the Go module proxy and cached under
# ${VIGIE_CACHE:-~/.cache/vigie}. A cold build takes minutes, so it runs in the
# background while the typecheck and the unit suite run; the integration step waits.
PEERS_LOG="$RESULTS/peers.log"
( nice bash scripts/prometheus3.sh && nice bash scripts/otelcol.sh ) >"$PEERS_LOG" 2>&1 &
peers_pid=$!
wait_peers() {
  if wait "$peers_pid"; then return 0; fi
  tail -n 40 "$PEERS_LOG" >&2
  return 1
}

vitest() {
  local project="$1"
  local filter=()
  ((${#FILES[@]} == 0)) || filter=(--passWithNoTests "${FILES[@]}")
  node node_modules/vitest/vitest.mjs run --project "$project" --reporter=default --reporter=json --outputFile.json="$RESULTS/$project.json" "${filter[@]}"
}

if ((SKIP_TYPECHECK == 0)); then
  step "typecheck" node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit || true
fi
step "unit" vitest unit || true
step "go peers (Prometheus 3, OpenTelemetry Collector)" wait_peers || true
if ((stack_ok)); then
  step "integration" vitest integration || true
else
  failed+=("integration (not run: stack did not start)")
fi

elapsed=$((SECONDS - t_start))
# Totals over the suites that wrote a report (vitest's JSON reporter).
node -e '
  const fs = require("node:fs"); let p = 0, f = 0, s = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${p} passed, ${f} failed` + (s ? `, ${s} skipped` : ""));
' "$RESULTS/unit.json" "$RESULTS/integration.json"
if ((${#failed[@]} > 0)); then
  echo "[test] FAILED on node $(node -v): $(IFS=,; echo "${failed[*]}") — passed: $(IFS=,; echo "${passed[*]:-none}") (${elapsed} s)" >&2
  exit 1
fi
echo "[test] OK on node $(node -v): $(IFS=,; echo "${passed[*]}") (${elapsed} s)"
