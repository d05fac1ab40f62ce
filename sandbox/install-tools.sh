#!/usr/bin/env bash
# Builds the Go tools of the local stack into a versioned cache folder outside the repo:
#   temporal (Temporal CLI dev server + UI), kwok, kwokctl, etcd, kube-apiserver,
#   kube-controller-manager, kube-scheduler, kubectl.
# Idempotent; safe to run twice at once (a lock) and after an interrupted run (each
# binary is built into a temporary folder and moved into place only when complete).
# Prints the bin folder on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

command -v go >/dev/null || die "Go is required to build the sandbox tools (go 1.26 or newer)"
command -v flock >/dev/null || die "flock (util-linux) is required"

key="$(tools_key)"
dir="$BURST_CACHE_DIR/tools/$key"
bin="$dir/bin"
mkdir -p "$bin"

exec 9>"$dir/.lock"
if ! flock -n 9; then
  log "another install of the tools is running; waiting for it"
  flock 9
fi

export GOFLAGS="-trimpath"

# build NAME COMMAND…: runs COMMAND with $out set to a fresh folder, then moves $out/NAME into bin/.
build() {
  local name="$1"; shift
  if [[ -x "$bin/$name" ]]; then return 0; fi
  local start=$SECONDS
  out="$(mktemp -d "$dir/.build-$name.XXXXXX")"
  log "building $name (first run only; cached in $dir)"
  if ! "$@" >"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log" >&2
    rm -rf "$out"
    die "building $name failed"
  fi
  mv -f "$out/$name" "$bin/$name"
  rm -rf "$out"
  log "built $name in $((SECONDS - start))s"
}

go_install() { # go_install NAME PACKAGE@VERSION
  GOBIN="$out" go install "$2"
}
in_module() { # in_module MODULE_DIR NAME PACKAGE
  (cd "$REPO_ROOT/sandbox/tools/$1" && go build -o "$out/$2" "$3")
}

build temporal go_install temporal "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
build kwok go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
build kwokctl go_install kwokctl "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
build etcd in_module etcd etcd go.etcd.io/etcd/server/v3
build kube-apiserver in_module kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager in_module kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler in_module kubernetes kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
build kubectl in_module kubernetes kubectl k8s.io/kubernetes/cmd/kubectl

echo "$bin"
