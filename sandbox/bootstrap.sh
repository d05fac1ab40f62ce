#!/usr/bin/env bash
# Entry point of `npm start` and `npm test` on any machine: provides a supported
# Node.js (>= 22.19; installs Node 24 from the npm registry into the cache when the
# system's is older), installs the npm dependencies when needed, builds the Go tools
# of the local stack (cached), then runs the command.
#   bootstrap.sh start   the local stack (Temporal, kwok cluster, worker, MCP server)
#   bootstrap.sh test    every test suite
#   bootstrap.sh ci      lint, typecheck and every test suite
#   bootstrap.sh tools   only the setup; prints the tools' bin folder
#   bootstrap.sh exec …  runs a command with the same environment
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

version_ge() { # version_ge A B: A >= B (dotted numeric)
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

ensure_node() {
  local current=""
  if command -v node >/dev/null; then current="$(node -p 'process.versions.node' 2>/dev/null || true)"; fi
  if [[ -n "$current" ]] && version_ge "$current" "$NODE_MIN_VERSION"; then
    return 0
  fi
  local dir="$BURST_CACHE_DIR/node/$NODE_VERSION_PINNED"
  if [[ ! -x "$dir/bin/node" ]]; then
    command -v npm >/dev/null || die "npm is required to install Node.js $NODE_VERSION_PINNED"
    mkdir -p "$BURST_CACHE_DIR/node"
    exec 8>"$BURST_CACHE_DIR/node/.lock"
    flock 8
    if [[ ! -x "$dir/bin/node" ]]; then
      log "Node.js ${current:-none} is older than $NODE_MIN_VERSION; installing Node.js $NODE_VERSION_PINNED from the npm registry"
      local tmp
      tmp="$(mktemp -d "$BURST_CACHE_DIR/node/.install.XXXXXX")"
      (cd "$tmp" && npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tmp" "node@$NODE_VERSION_PINNED" >&2)
      mkdir -p "$tmp/bin"
      cp "$tmp/node_modules/node/bin/node" "$tmp/bin/node"
      rm -rf "$tmp/node_modules" "$tmp/package.json" "$tmp/package-lock.json"
      "$tmp/bin/node" --version >/dev/null || die "the installed Node.js does not run"
      rm -rf "$dir"
      mv "$tmp" "$dir"
    fi
    exec 8>&-
  fi
  export PATH="$dir/bin:$PATH"
  log "using Node.js $(node --version) from $dir"
}

ensure_npm_deps() {
  local stamp="node_modules/.package-lock.json"
  if [[ -f "$stamp" && "$stamp" -nt package-lock.json && "$stamp" -nt package.json ]]; then
    return 0
  fi
  log "installing npm dependencies"
  if [[ "${CI:-}" == "true" ]]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
}

ensure_tools() {
  local bin
  bin="$(bash "$REPO_ROOT/sandbox/install-tools.sh")"
  export BURST_TOOLS_BIN="$bin"
}

ensure_node
ensure_npm_deps
ensure_tools

cmd="${1:-start}"
shift || true
case "$cmd" in
  start) exec node --import tsx sandbox/start.ts "$@" ;;
  test) exec node node_modules/vitest/vitest.mjs run "$@" ;;
  ci)
    npx biome ci .
    npx tsc --noEmit
    exec node node_modules/vitest/vitest.mjs run "$@"
    ;;
  tools) echo "$BURST_TOOLS_BIN" ;;
  exec) exec "$@" ;;
  *) die "unknown command '$cmd' (start | test | ci | tools | exec)" ;;
esac
