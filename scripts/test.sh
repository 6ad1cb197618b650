#!/usr/bin/env bash
# Vigie's test command: bash scripts/test.sh
#
# 1. npm ci when node_modules is missing or older than package-lock.json
# 2. bash scripts/stack.sh start (Kafka + Alertmanager on 127.0.0.1; installs what is missing)
# 3. typecheck (tsc --noEmit), 4. unit suite, 5. integration suite (vitest projects)
#
# VIGIE_NODE=/path/to/node runs typecheck and suites under that Node binary (its
# directory is put first on PATH; vitest's forks inherit it).
# --skip-typecheck skips step 3 (CI runs it once, on Node 20).
# Every step runs even if an earlier one failed (except integration when the stack is
# down); the exit code is non-zero if any step failed, and the last line says which.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SKIP_TYPECHECK=0
for arg in "$@"; do
  case "$arg" in
    --skip-typecheck) SKIP_TYPECHECK=1 ;;
    *) echo "usage: bash scripts/test.sh [--skip-typecheck]" >&2; exit 2 ;;
  esac
done

if [[ -n "${VIGIE_NODE:-}" ]]; then
  [[ -x "$VIGIE_NODE" ]] || { echo "[test] VIGIE_NODE=$VIGIE_NODE is not an executable" >&2; exit 2; }
  PATH="$(cd "$(dirname "$VIGIE_NODE")" && pwd):$PATH"
  export PATH
fi
echo "[test] node $(node -v) ($(command -v node))"

t_start=$SECONDS
failed=()
passed=()

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

if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "npm ci" bash scripts/npm-ci.sh || { echo "[test] FAILED: npm ci" >&2; exit 1; }
fi

stack_ok=1
step "stack start" bash scripts/stack.sh start || stack_ok=0

if ((SKIP_TYPECHECK == 0)); then
  step "typecheck" node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit || true
fi
step "unit" node node_modules/vitest/vitest.mjs run --project unit || true
if ((stack_ok)); then
  step "integration" node node_modules/vitest/vitest.mjs run --project integration || true
else
  failed+=("integration (not run: stack did not start)")
fi

elapsed=$((SECONDS - t_start))
if ((${#failed[@]} > 0)); then
  echo "[test] FAILED on node $(node -v): $(IFS=,; echo "${failed[*]}") — passed: $(IFS=,; echo "${passed[*]:-none}") (${elapsed} s)" >&2
  exit 1
fi
echo "[test] OK on node $(node -v): $(IFS=,; echo "${passed[*]}") (${elapsed} s)"
