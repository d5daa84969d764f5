#!/usr/bin/env bash
# Makes the Pulumi toolchain used by this project available, built from Go modules
# (the only sources reachable here: no downloads from GitHub or get.pulumi.com).
#
#   pulumi                   CLI v$PULUMI_VERSION                -> $TOOLS_BIN
#   pulumi-language-nodejs   Node.js language host               -> $TOOLS_BIN (next to pulumi)
#   kubernetes plugin        v$PULUMI_KUBERNETES_VERSION         -> Pulumi plugin cache
#   random plugin            v$PULUMI_RANDOM_VERSION             -> Pulumi plugin cache
#
# Versions come from tools/versions.env; each wrapper module under tools/go/ pins the
# Go module versions it builds from (go.mod + go.sum). Where the Go module proxy does not
# serve the pinned release's own source, the wrapper builds the closest source that it
# does serve -- tools/go/*/README.md says which and why, and this script prints it.
#
# Idempotent: an existing `pulumi` of the pinned version on PATH (outside $TOOLS_BIN) and
# plugins of the pinned versions already installed are used as they are. Our own builds
# carry a stamp (hash of the wrapper module, Go version and build flags); a re-run with
# unchanged inputs only checks stamps and versions and takes seconds.
#
# Usage: tools/setup-pulumi.sh [--force]   (--force rebuilds and reinstalls our builds)
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FORCE=0
case "${1:-}" in
  --force) FORCE=1 ;;
  "") ;;
  *) die "usage: $0 [--force]" ;;
esac

command -v go >/dev/null || die "go is required (Go 1.26 or newer)"

GO_WRAPPERS="$TOOLS_DIR/go"
BUILD_ROOT="$STATEFUL_APPS_CACHE/pulumi-build"   # copies of the wrappers + generated files
STAMPS="$STATEFUL_APPS_CACHE/stamps"
mkdir -p "$BUILD_ROOT" "$STAMPS"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=readonly"
# Some pinned module versions are served by the proxy without a checksum-database entry.
# The committed go.sum files pin every hash, so the checksum database is not needed.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"
# The CLI must not try to reach api.pulumi.com or download plugins.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

LDFLAGS_BASE="-s -w"
GO_VERSION="$(go env GOVERSION)"

# stamp NAME EXTRA...: a hash of the wrapper module NAME, the Go version and EXTRA.
stamp_of() {
  local name=$1; shift
  {
    printf '%s\n' "$GO_VERSION" "$*"
    (cd "$GO_WRAPPERS/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}
stamp_ok()   { [[ $FORCE == 0 && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp_save() { printf '%s\n' "$2" >"$STAMPS/$1"; }

# mod_version WRAPPER MODULE: the version of MODULE that wrapper WRAPPER builds.
mod_version() { (cd "$GO_WRAPPERS/$1" && go list -m -f '{{.Version}}' "$2"); }
mod_dir()     { (cd "$BUILD_ROOT/$1" && go list -m -f '{{.Dir}}' "$2"); }

# fresh_copy NAME: copy wrapper NAME into the build cache (generated files go there,
# never into the repo).
fresh_copy() {
  local src="$BUILD_ROOT/$1"
  rm -rf "$src"
  cp -R "$GO_WRAPPERS/$1" "$src"
}

# gobuild DIR OUT LDFLAGS [ARGS...]: go build in DIR; ARGS are extra flags and the package.
# The list of modules downloaded on a cold run is long: only their number is shown.
gobuild() {
  local dir=$1 out=$2 ldflags=$3; shift 3
  (cd "$dir" && go build -trimpath -ldflags "$LDFLAGS_BASE $ldflags" -o "$out" "$@" 2>&1) |
    awk '/^go: downloading / { n++; next } { print } END { if (n) printf "(%d Go modules downloaded)\n", n }' >&2
}

# ── pulumi CLI ────────────────────────────────────────────────────────────────
PULUMI_LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
PULUMI_TAGS="osusergo,grpcnotrace"

cli_version() { "$1" version 2>/dev/null | head -n1 || true; }

# An installed pulumi of the pinned version, outside $TOOLS_BIN.
external_pulumi() {
  local p
  while IFS= read -r p; do
    [[ "$(dirname "$p")" == "$TOOLS_BIN" ]] && continue
    [[ "$(cli_version "$p")" == "v$PULUMI_VERSION" ]] && { printf '%s\n' "$p"; return 0; }
  done < <(type -ap pulumi 2>/dev/null || true)
  return 1
}

build_cli() {
  local v
  v="$(mod_version pulumi github.com/pulumi/pulumi/pkg/v3)"
  [[ "$v" == "v$PULUMI_VERSION" ]] ||
    die "tools/go/pulumi/go.mod builds pkg/v3 $v but versions.env pins PULUMI_VERSION=$PULUMI_VERSION"
  log "building pulumi CLI v$PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3@$v)"
  gobuild "$GO_WRAPPERS/pulumi" "$TOOLS_BIN/pulumi.new" "$PULUMI_LDFLAGS" \
    -tags "$PULUMI_TAGS" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  mv -f "$TOOLS_BIN/pulumi.new" "$TOOLS_BIN/pulumi"
}

build_langhost() {
  local v
  v="$(mod_version pulumi-language-nodejs github.com/pulumi/pulumi/sdk/v3)"
  [[ "$v" == "v$PULUMI_VERSION" ]] ||
    die "tools/go/pulumi-language-nodejs/go.mod builds against sdk/v3 $v but versions.env pins PULUMI_VERSION=$PULUMI_VERSION"
  log "building pulumi-language-nodejs: our own host (tools/go/pulumi-language-nodejs/main.go) on github.com/pulumi/pulumi/sdk/v3@$v"
  gobuild "$GO_WRAPPERS/pulumi-language-nodejs" "$TOOLS_BIN/pulumi-language-nodejs.new" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" .
  mv -f "$TOOLS_BIN/pulumi-language-nodejs.new" "$TOOLS_BIN/pulumi-language-nodejs"
}

setup_cli() {
  local ext
  if ext="$(external_pulumi)"; then
    log "using $ext (v$PULUMI_VERSION) found on PATH"
    ln -sfn "$ext" "$TOOLS_BIN/pulumi"
    local lh
    lh="$(dirname "$ext")/pulumi-language-nodejs"
    if [[ -x "$lh" ]]; then
      ln -sfn "$lh" "$TOOLS_BIN/pulumi-language-nodejs"
      return 0
    fi
  else
    [[ -L "$TOOLS_BIN/pulumi" ]] && rm -f "$TOOLS_BIN/pulumi"   # a link to a pulumi that is gone
    local s
    s="$(stamp_of pulumi "$PULUMI_VERSION" "$PULUMI_LDFLAGS" "$PULUMI_TAGS")"
    if stamp_ok pulumi "$s" && [[ "$(cli_version "$TOOLS_BIN/pulumi")" == "v$PULUMI_VERSION" ]]; then
      log "pulumi v$PULUMI_VERSION: up to date ($TOOLS_BIN/pulumi)"
    else
      phase "build pulumi CLI" build_cli
      stamp_save pulumi "$s"
    fi
  fi
  [[ -L "$TOOLS_BIN/pulumi-language-nodejs" ]] && rm -f "$TOOLS_BIN/pulumi-language-nodejs"
  local s
  s="$(stamp_of pulumi-language-nodejs)"
  if stamp_ok pulumi-language-nodejs "$s" && [[ -x "$TOOLS_BIN/pulumi-language-nodejs" ]]; then
    log "pulumi-language-nodejs: up to date ($TOOLS_BIN/pulumi-language-nodejs)"
  else
    phase "build pulumi-language-nodejs" build_langhost
    stamp_save pulumi-language-nodejs "$s"
  fi
}

# ── resource plugins ──────────────────────────────────────────────────────────
# plugin_installed NAME VERSION
plugin_installed() {
  pulumi plugin ls 2>/dev/null | awk -v n="$1" -v v="$2" '$1 == n && $2 == "resource" && $3 == v { f = 1 } END { exit !f }'
}

install_plugin() { # NAME VERSION FILE
  pulumi plugin install resource "$1" "$2" --file "$3" --reinstall
}

K8S_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_LDFLAGS="-X $K8S_PROVIDER_MODULE/pkg/version.Version=$PULUMI_KUBERNETES_VERSION"

build_kubernetes() {
  local name=pulumi-resource-kubernetes src="$BUILD_ROOT/pulumi-resource-kubernetes" mod
  fresh_copy "$name"
  log "building kubernetes plugin $PULUMI_KUBERNETES_VERSION from $K8S_PROVIDER_MODULE@$(mod_version "$name" "$K8S_PROVIDER_MODULE") (see tools/go/$name/README.md)"
  (cd "$src" && go mod download "$K8S_PROVIDER_MODULE")
  mod="$(mod_dir "$name" "$K8S_PROVIDER_MODULE")/cmd/pulumi-resource-kubernetes"
  # The upstream main package embeds generated files that the module zip lacks; the
  # schema and the Terraform mapping it is generated from are in the zip.
  (cd "$src" &&
    go run embedgen.go "$mod/schema.json" schema-embed.json "$PULUMI_KUBERNETES_VERSION" &&
    go run embedgen.go "$mod/terraform-mapping.json" terraform-mapping-embed.json)
  gobuild "$src" "$src/bin/pulumi-resource-kubernetes" "$K8S_LDFLAGS" .
  install_plugin kubernetes "$PULUMI_KUBERNETES_VERSION" "$src/bin/pulumi-resource-kubernetes"
}

RANDOM_LDFLAGS="-X stateful-apps/tools/pulumi-resource-random/randomprovider.Version=$PULUMI_RANDOM_VERSION"

build_random() {
  local name=pulumi-resource-random src="$BUILD_ROOT/pulumi-resource-random"
  fresh_copy "$name"
  log "building random plugin $PULUMI_RANDOM_VERSION: terraform-provider-random@$(mod_version "$name" github.com/terraform-providers/terraform-provider-random)" \
    "via pulumi-terraform-bridge@$(mod_version "$name" github.com/pulumi/pulumi-terraform-bridge/v3) (see tools/go/$name/README.md)"
  # 1. The schema generator, then the schema and bridge metadata.
  gobuild "$src" "$src/bin/pulumi-tfgen-random" "$RANDOM_LDFLAGS" ./cmd/pulumi-tfgen-random
  # Docs are left out: finding them makes tfgen convert the HCL examples with
  # `pulumi convert` and the Terraform converter plugin, which is not available here.
  (cd "$src" && PULUMI_CONVERT=false "$src/bin/pulumi-tfgen-random" schema --out "$src/schema" >"$src/tfgen.log" 2>&1) ||
    { tail -n 40 "$src/tfgen.log" >&2; die "pulumi-tfgen-random schema failed (log: $src/tfgen.log)"; }
  # 2. Embed them into the provider.
  cp "$src/schema/bridge-metadata.json" "$src/randomprovider/bridge-metadata.json"
  cp "$GO_WRAPPERS/pulumi-resource-kubernetes/embedgen.go" "$src/embedgen.go"
  (cd "$src" && go run embedgen.go schema/schema.json cmd/pulumi-resource-random/schema-embed.json "$PULUMI_RANDOM_VERSION")
  gobuild "$src" "$src/bin/pulumi-resource-random" "$RANDOM_LDFLAGS" ./cmd/pulumi-resource-random
  install_plugin random "$PULUMI_RANDOM_VERSION" "$src/bin/pulumi-resource-random"
}

# setup_plugin NAME VERSION WRAPPER BUILDFN LDFLAGS
setup_plugin() {
  local name=$1 version=$2 wrapper=$3 buildfn=$4 ldflags=$5 s
  s="$(stamp_of "$wrapper" "$version" "$ldflags")"
  if plugin_installed "$name" "$version"; then
    if [[ ! -f "$STAMPS/$wrapper" ]] && [[ $FORCE == 0 ]]; then
      log "$name plugin $version: already installed (not built here), using it"
      return 0
    fi
    if stamp_ok "$wrapper" "$s"; then
      log "$name plugin $version: up to date"
      return 0
    fi
  fi
  phase "build $name plugin" "$buildfn"
  stamp_save "$wrapper" "$s"
}

start=$SECONDS
setup_cli
command -v pulumi >/dev/null || die "pulumi is not on PATH after setup"
setup_plugin kubernetes "$PULUMI_KUBERNETES_VERSION" pulumi-resource-kubernetes build_kubernetes "$K8S_LDFLAGS"
setup_plugin random "$PULUMI_RANDOM_VERSION" pulumi-resource-random build_random \
  "$RANDOM_LDFLAGS $(sha256sum <"$GO_WRAPPERS/pulumi-resource-kubernetes/embedgen.go")"

log "pulumi: $(command -v pulumi) $(pulumi version)"
pulumi plugin ls 2>/dev/null | awk 'NR == 1 || ($1 == "kubernetes" || $1 == "random")' >&2
log "setup-pulumi done in $((SECONDS - start))s"
