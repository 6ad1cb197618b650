#!/usr/bin/env bash
# Fetches the Prometheus 3 Go module (its PromQL conformance scripts live in
# promql/promqltest/testdata) and builds the Prometheus 3 server from it, both cached
# outside the repository so a CI machine pays the ~5 min build once and a fresh machine
# rebuilds it. Idempotent; prints `KEY=value` lines the tests read:
#
#   bash scripts/prometheus3.sh            # fetch + build, print paths
#   bash scripts/prometheus3.sh --module   # fetch the module only (no build)
#
# Env: VIGIE_CACHE (default $HOME/.cache/vigie), VIGIE_PROMETHEUS3_VERSION (v0.316.0),
# GO (default: `go` on PATH, else /usr/local/go/bin/go).
#
# Output: PROMETHEUS3_MODULE_DIR=<module dir>  PROMETHEUS3_BIN=<binary path>
set -euo pipefail

VERSION="${VIGIE_PROMETHEUS3_VERSION:-v0.316.0}"
CACHE="${VIGIE_CACHE:-$HOME/.cache/vigie}"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
MODULE_ONLY=0
[[ "${1:-}" == "--module" ]] && MODULE_ONLY=1

log() { printf '[prometheus3] %s\n' "$*" >&2; }
die() { printf '[prometheus3] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x "$GO" ]] || die "Go toolchain not found (set GO=/path/to/go)"

export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go/build-cache"
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local
mkdir -p "$CACHE"

# The module (read-only tree in GOMODCACHE); `go mod download` is a no-op when cached.
MODDIR="$("$GO" mod download -json "github.com/prometheus/prometheus@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$MODDIR" && -d "$MODDIR/promql/promqltest/testdata" ]] || die "module github.com/prometheus/prometheus@$VERSION has no promql/promqltest/testdata (dir: '$MODDIR')"
echo "PROMETHEUS3_MODULE_DIR=$MODDIR"
((MODULE_ONLY)) && exit 0

BINDIR="$CACHE/prometheus-$VERSION/bin"
BIN="$BINDIR/prometheus"
STAMP="$BINDIR/.vigie-built"
# A `go install` build carries no version string (it is set by ldflags in release
# builds), so a stamp written after a successful build marks the binary as complete.
if [[ ! -x "$BIN" || ! -f "$STAMP" ]]; then
  log "building prometheus@$VERSION into $BINDIR (about 5 minutes on an idle machine, once per machine)"
  mkdir -p "$BINDIR"
  rm -f "$STAMP"
  # The web UI assets are not embedded by a plain `go install` (no builtinassets tag);
  # the HTTP API, which the tests use, does not need them.
  GOBIN="$BINDIR" nice -n 10 "$GO" install "github.com/prometheus/prometheus/cmd/prometheus@$VERSION" \
    || die "go install github.com/prometheus/prometheus/cmd/prometheus@$VERSION failed"
  "$BIN" --version >/dev/null 2>&1 || die "$BIN does not run"
  echo "$VERSION" >"$STAMP"
fi
echo "PROMETHEUS3_BIN=$BIN"
