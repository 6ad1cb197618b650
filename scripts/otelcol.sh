#!/usr/bin/env bash
# Builds, once, a stock OpenTelemetry Collector with the OpenTelemetry Collector Builder
# from the Go module proxy (collector v0.165.0, contrib v0.165.1: otlpreceiver,
# prometheusreceiver, kafkaexporter, otlphttpexporter, debugexporter; confmap env/file
# providers v1.71.0), so the tests can run Vigie against a real Collector as a peer.
# The binary, the module cache and the build cache live outside the repository, under
# ${VIGIE_CACHE:-$HOME/.cache/vigie}, like the Kafka jars; a second run only checks the
# binary. Prints the binary's path on stdout (progress goes to stderr). The first build
# takes about 30 min on a busy 2-core machine (the Prometheus receiver brings the
# Kubernetes and cloud service-discovery modules); later runs take a second.
#   OTELCOL=$(bash scripts/otelcol.sh)
set -euo pipefail

CACHE="${VIGIE_CACHE:-$HOME/.cache/vigie}"
VERSION=0.165.0
CONTRIB=0.165.1
PROVIDERS=1.71.0
HOME_DIR="$CACHE/otelcol-v$VERSION"
OUT="$HOME_DIR/otelcol-vigie"

if [ -x "$OUT" ] && "$OUT" components >/dev/null 2>&1; then
  echo "$OUT"
  exit 0
fi

GO="${GO:-}"
if [ -z "$GO" ]; then
  if [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
if [ -z "$GO" ]; then
  echo "otelcol.sh: no Go toolchain (need Go >= 1.24; /usr/local/go/bin/go or go on PATH)" >&2
  exit 1
fi

mkdir -p "$HOME_DIR/bin" "$HOME_DIR/build"
export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go/build-cache"
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=mod"
echo "otelcol.sh: building the OpenTelemetry Collector v$VERSION into $HOME_DIR (a few minutes the first time)" >&2
GOBIN="$HOME_DIR/bin" nice -n 10 "$GO" install "go.opentelemetry.io/collector/cmd/builder@v$VERSION" >&2

cat > "$HOME_DIR/build/builder.yaml" <<YAML
dist:
  name: otelcol-vigie
  description: Stock OpenTelemetry Collector, peer of Vigie in its tests
  version: $VERSION
  output_path: $HOME_DIR/build/out
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver v$CONTRIB
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter v$CONTRIB
  - gomod: go.opentelemetry.io/collector/exporter/otlphttpexporter v$VERSION
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v$VERSION
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v$PROVIDERS
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v$PROVIDERS
YAML

(cd "$HOME_DIR/build" && nice -n 10 "$HOME_DIR/bin/builder" --config builder.yaml >&2)
cp "$HOME_DIR/build/out/otelcol-vigie" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
"$OUT" components >/dev/null
echo "$OUT"
