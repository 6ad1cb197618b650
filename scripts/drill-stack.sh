#!/usr/bin/env bash
# Installs, once, what the live saturation drill (test/integration/drill.test.ts,
# `npm run bench:drill`) runs against: nginx and PHP-FPM (with SQLite) from Debian, and
# the vegeta load generator built from the Go module proxy (v12.13.0). Debian packages
# are installed with apt-get when missing (the machines run as root); the vegeta binary,
# its module cache and build cache live under ${VIGIE_CACHE:-$HOME/.cache/vigie}, like
# the Kafka jars, so a second run only checks the binaries. Prints three lines on
# stdout, `nginx=PATH`, `php_fpm=PATH`, `vegeta=PATH` (progress goes to stderr).
# The drill starts private instances from these binaries with its own config files;
# the Debian services themselves are stopped and disabled so they hold no port.
#   eval "$(bash scripts/drill-stack.sh)"   # sets nginx, php_fpm, vegeta
set -euo pipefail

CACHE="${VIGIE_CACHE:-$HOME/.cache/vigie}"
VEGETA_VERSION=12.13.0
VEGETA_DIR="$CACHE/vegeta-v$VEGETA_VERSION"
VEGETA="$VEGETA_DIR/vegeta"

find_php_fpm() { ls /usr/sbin/php-fpm* 2>/dev/null | sort -V | tail -n 1; }

need_apt=0
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt=1
[ -n "$(find_php_fpm)" ] || need_apt=1
# pdo_sqlite / sqlite3 extension (the exam page reads its questions from SQLite).
if [ -n "$(find_php_fpm)" ] && ! "$(find_php_fpm)" -m 2>/dev/null | grep -qi '^pdo_sqlite$'; then need_apt=1; fi
if [ "$need_apt" = 1 ]; then
  echo "drill-stack.sh: installing nginx-light, php-fpm and php-sqlite3 from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  # policy-rc.d 101: do not start the packaged services (the drill runs its own instances).
  had_policy=0
  [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  if [ "$had_policy" = 0 ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; fi
  apt-get install -y -qq --no-install-recommends nginx-light php-fpm php-sqlite3 >&2
  [ "$had_policy" = 0 ] && rm -f /usr/sbin/policy-rc.d
fi

NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
PHP_FPM="$(find_php_fpm)"
if [ ! -x "$NGINX" ] || [ -z "$PHP_FPM" ]; then
  echo "drill-stack.sh: nginx or php-fpm is still missing after the install" >&2
  exit 1
fi

if ! { [ -x "$VEGETA" ] && "$VEGETA" -version >/dev/null 2>&1; }; then
  GO="${GO:-}"
  if [ -z "$GO" ]; then
    if [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
  fi
  if [ -z "$GO" ]; then
    echo "drill-stack.sh: no Go toolchain to build vegeta (need /usr/local/go/bin/go or go on PATH)" >&2
    exit 1
  fi
  mkdir -p "$VEGETA_DIR"
  export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go/build-cache"
  export GOTOOLCHAIN=local
  echo "drill-stack.sh: building vegeta v$VEGETA_VERSION into $VEGETA_DIR" >&2
  GOBIN="$VEGETA_DIR" nice -n 10 "$GO" install "github.com/tsenart/vegeta/v12@v$VEGETA_VERSION" >&2
  "$VEGETA" -version >/dev/null
fi

echo "nginx=$NGINX"
echo "php_fpm=$PHP_FPM"
echo "vegeta=$VEGETA"
