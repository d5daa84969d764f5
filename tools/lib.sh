# Shared helpers for tools/*.sh, cluster/*.sh and e2e/*.sh. Source it; it sets no shell options.
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(cd "$TOOLS_DIR/.." && pwd)"
# shellcheck source=versions.env
. "$TOOLS_DIR/versions.env"

# Everything built or downloaded lives outside the repo so a second run is fast.
STATEFUL_APPS_CACHE="${STATEFUL_APPS_CACHE:-$HOME/.cache/stateful-apps}"
TOOLS_BIN="$STATEFUL_APPS_CACHE/bin"
mkdir -p "$TOOLS_BIN"
# The project's Pulumi home: its plugin cache holds the providers built here (one of them from a
# different source than its version label says), so they must never land in the user's own
# ~/.pulumi, where every other Pulumi project of theirs would pick them up.
export PULUMI_HOME="$STATEFUL_APPS_CACHE/pulumi-home"
case ":$PATH:" in *":$TOOLS_BIN:"*) ;; *) PATH="$TOOLS_BIN:$PATH"; export PATH ;; esac

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# phase NAME CMD...: runs CMD and prints how long it took.
phase() {
  local name=$1; shift
  local start=$SECONDS
  log "── $name"
  "$@"
  local rc=$?
  log "── $name: $((SECONDS - start))s (exit $rc)"
  return $rc
}

# fill_template FILE: FILE with every __NAME__ replaced by the value of the shell variable NAME
# (dies naming the placeholder when a variable is unset).
fill_template() {
  local text name
  text=$(<"$1")
  while [[ "$text" =~ __([A-Z][A-Z0-9_]*[A-Z0-9])__ ]]; do
    name=${BASH_REMATCH[1]}
    [[ -n "${!name+x}" ]] || die "$1: no value for __${name}__"
    text=${text//__${name}__/${!name}}
  done
  printf '%s\n' "$text"
}

# ── Tools built here: one convention for every setup script ───────────────────────────────
# Each tool built from a wrapper module under tools/go/ has a stamp in $STAMP_DIR recording what
# it was built from: the recipe below, the Go version, a hash of every file of the wrapper
# (go.mod, go.sum and any source of ours) and the tool's version and build flags. A tool whose
# stamp is current (and whose binaries exist) is not rebuilt, so a warm run never calls `go`.
# FORCE=1 in the environment rebuilds everything a script covers.
GO_WRAPPERS="$TOOLS_DIR/go"
STAMP_DIR="$TOOLS_BIN/.stamps"
# Bump when the way binaries are built changes, so caches built the old way are redone.
BUILD_RECIPE=2
# Flags every build gets: -trimpath -ldflags '-s -w' (no paths of this machine, no symbol
# table or DWARF: smaller binaries, shorter links).
GO_LDFLAGS_BASE="-s -w"

# go_env: the environment every build here runs in.
go_env() {
  export CGO_ENABLED=0
  case " ${GOFLAGS:-} " in *" -buildvcs=false "*) ;; *) GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac
  case " $GOFLAGS " in *" -mod="*) ;; *) GOFLAGS="$GOFLAGS -mod=readonly" ;; esac
  export GOFLAGS
  # Some pinned Pulumi module versions are served by the proxy without a checksum-database
  # entry; the committed go.sum files pin every hash, so the checksum database is not needed.
  case ",${GONOSUMDB:-}," in *",github.com/pulumi,"*) ;; *) export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi" ;; esac
  # Leftovers of interrupted builds (go_build_into's temporary directories).
  find "$TOOLS_BIN" -maxdepth 1 -name '.build.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
}

# stamp_value NAME WRAPPER EXTRA...: a string that changes whenever tool NAME, built from
# tools/go/WRAPPER ("" for none), must be rebuilt; EXTRA is its version and build flags.
stamp_value() {
  local name=$1 wrapper=$2; shift 2
  local sums=""
  if [[ -n "$wrapper" ]]; then
    # Every file but the READMEs: main.go, embedgen.go and the like are sources of ours.
    sums=$(cd "$GO_WRAPPERS/$wrapper" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  fi
  printf 'recipe=%s tool=%s go=%s wrapper=%s %s\n' "$BUILD_RECIPE" "$name" "$(go env GOVERSION 2>/dev/null)" "$sums" "$*"
}

# is_current NAME STAMP [BINARY...]: true unless FORCE=1, a BINARY is missing from $TOOLS_BIN, or
# NAME's stamp differs from STAMP.
is_current() {
  local name=$1 want=$2; shift 2
  [[ "${FORCE:-0}" == 1 ]] && return 1
  local b
  for b in "$@"; do [[ -x "$TOOLS_BIN/$b" ]] || return 1; done
  [[ -f "$STAMP_DIR/$name" && "$(cat "$STAMP_DIR/$name")" == "$want" ]]
}

# write_stamp NAME STAMP: written last, after the tool's binaries are in place, and atomically
# (a full disk leaves no truncated stamp that a later run could trust).
write_stamp() {
  mkdir -p "$STAMP_DIR" && printf '%s\n' "$2" >"$STAMP_DIR/.$1.tmp" && mv "$STAMP_DIR/.$1.tmp" "$STAMP_DIR/$1" ||
    { rm -f "$STAMP_DIR/.$1.tmp"; die "cannot write the stamp of $1 in $STAMP_DIR (disk full?)"; }
}

# require_free_space DIR MIB WHAT: dies naming DIR unless its filesystem has MIB MiB free, so a
# nearly full disk stops a run up front with the path to clean, not halfway through a build.
require_free_space() {
  local dir=$1 need=$2 what=$3 free
  mkdir -p "$dir"
  free=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
  [[ "$free" =~ ^[0-9]+$ ]] || die "cannot read the free space of $dir"
  ((free >= need)) || die "not enough free space in $dir: ${free} MiB free, at least ${need} MiB needed for $what; free some space there (or point STATEFUL_APPS_CACHE elsewhere) and run again"
}
# A cold go build fills the build cache by several GiB (the whole cached toolchain is about 0.9 GiB
# of binaries beside 5 GiB of modules); the cluster keeps its etcd, logs, images and volumes
# under $STATEFUL_APPS_CACHE.
BUILD_MIN_FREE_MIB=3072
CACHE_MIN_FREE_MIB=1024

# go_build_into [--out DIR] [--rename FROM=TO] WRAPPER_DIR LDFLAGS ARGS...: one `go build` of the
# packages in ARGS (shared packages compile once; ARGS may start with flags such as -tags) into a
# temporary directory, then the binaries are moved into DIR (default $TOOLS_BIN), so an
# interrupted build never leaves a half-written binary behind.
go_build_into() {
  local out_dir=$TOOLS_BIN rename=""
  while [[ "$1" == --* ]]; do
    case "$1" in
      --out) out_dir=$2 ;;
      --rename) rename=$2 ;;
      *) die "go_build_into: unknown option $1" ;;
    esac
    shift 2
  done
  local dir=$1 ldflags=$2; shift 2
  command -v go >/dev/null 2>&1 || die "the go command is not on PATH: Go 1.26 or newer is needed to build $*"
  mkdir -p "$out_dir"
  require_free_space "$TOOLS_BIN" "$BUILD_MIN_FREE_MIB" "a go build"
  require_free_space "$(go env GOCACHE)" "$BUILD_MIN_FREE_MIB" "a go build's cache"
  local tmp
  tmp=$(mktemp -d "$TOOLS_BIN/.build.XXXXXX")
  log "go build ($(basename "$dir")): $*"
  # A cold module cache prints hundreds of "go: downloading" lines: only their number is shown.
  if ! (cd "$dir" && go build -trimpath -ldflags "$GO_LDFLAGS_BASE${ldflags:+ $ldflags}" -o "$tmp/" "$@" 2>&1) |
    awk '/^go: downloading / { n++; next } { print } END { if (n) printf "(%d Go modules downloaded)\n", n }' >&2; then
    rm -rf "$tmp"
    die "go build failed in $dir for: $*"
  fi
  if [[ -n "$rename" ]]; then
    mv "$tmp/${rename%%=*}" "$tmp/${rename#*=}" || { rm -rf "$tmp"; die "go build did not produce ${rename%%=*}"; }
  fi
  local f
  for f in "$tmp"/*; do
    mv -f "$f" "$out_dir/"
  done
  rmdir "$tmp"
}
