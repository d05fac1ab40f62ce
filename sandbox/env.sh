# Shared settings for the sandbox scripts. Source it; it defines no side effects.
# Versions of the tools the local stack runs. Changing one changes the cache key.
export NODE_VERSION_PINNED="24.21.0"
export NODE_MIN_VERSION="22.19.0"
export TEMPORAL_CLI_VERSION="v1.5.1"
export KWOK_VERSION="v0.8.0"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export BURST_CACHE_DIR="${BURST_WORKERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/burst-workers-mcp}"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# The cache key of the Go tools: versions, the pinned module files and the Go version.
tools_key() {
  {
    echo "temporal=$TEMPORAL_CLI_VERSION kwok=$KWOK_VERSION"
    go env GOVERSION GOOS GOARCH
    cat "$REPO_ROOT/sandbox/tools/kubernetes/go.mod" "$REPO_ROOT/sandbox/tools/kubernetes/go.sum" \
      "$REPO_ROOT/sandbox/tools/etcd/go.mod" "$REPO_ROOT/sandbox/tools/etcd/go.sum"
  } | sha256sum | cut -c1-16
}
