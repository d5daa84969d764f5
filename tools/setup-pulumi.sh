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
# plugins of the pinned versions already installed are used as they are. Our own builds carry a
# stamp (tools/lib.sh: the one convention of every tool built here); a re-run with unchanged
# inputs only checks stamps and versions and takes seconds.
#
# Usage: tools/setup-pulumi.sh        Env: FORCE=1 rebuilds and reinstalls our builds
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# == 0 ]] || die "usage: [FORCE=1] $0"
go_env

BUILD_ROOT="$STATEFUL_APPS_CACHE/pulumi-build"   # copies of the wrappers + generated files
mkdir -p "$BUILD_ROOT"
# Stamps of the convention before tools/lib.sh's (superseded; every tool was rebuilt once).
rm -rf "$STATEFUL_APPS_CACHE/stamps"

# The CLI must not try to reach api.pulumi.com or download plugins.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

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

# ── pulumi CLI ────────────────────────────────────────────────────────────────
# The sdk's version variable: the CLI and our language host both report v$PULUMI_VERSION.
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
  go_build_into "$GO_WRAPPERS/pulumi" "$PULUMI_LDFLAGS" -tags "$PULUMI_TAGS" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_langhost() {
  local v
  v="$(mod_version pulumi-language-nodejs github.com/pulumi/pulumi/sdk/v3)"
  [[ "$v" == "v$PULUMI_VERSION" ]] ||
    die "tools/go/pulumi-language-nodejs/go.mod builds against sdk/v3 $v but versions.env pins PULUMI_VERSION=$PULUMI_VERSION"
  log "building pulumi-language-nodejs: our own host (tools/go/pulumi-language-nodejs/main.go) on github.com/pulumi/pulumi/sdk/v3@$v"
  go_build_into "$GO_WRAPPERS/pulumi-language-nodejs" "$PULUMI_LDFLAGS" .
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
    s="$(stamp_value pulumi pulumi "version=$PULUMI_VERSION ldflags=$PULUMI_LDFLAGS tags=$PULUMI_TAGS")"
    if is_current pulumi "$s" pulumi && [[ "$(cli_version "$TOOLS_BIN/pulumi")" == "v$PULUMI_VERSION" ]]; then
      log "pulumi v$PULUMI_VERSION: up to date ($TOOLS_BIN/pulumi)"
    else
      phase "build pulumi CLI" build_cli
      write_stamp pulumi "$s"
    fi
  fi
  [[ -L "$TOOLS_BIN/pulumi-language-nodejs" ]] && rm -f "$TOOLS_BIN/pulumi-language-nodejs"
  local s
  s="$(stamp_value pulumi-language-nodejs pulumi-language-nodejs "ldflags=$PULUMI_LDFLAGS")"
  if is_current pulumi-language-nodejs "$s" pulumi-language-nodejs; then
    log "pulumi-language-nodejs: up to date ($TOOLS_BIN/pulumi-language-nodejs)"
  else
    phase "build pulumi-language-nodejs" build_langhost
    write_stamp pulumi-language-nodejs "$s"
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
  go_build_into --out "$src/bin" "$src" "$K8S_LDFLAGS" .
  install_plugin kubernetes "$PULUMI_KUBERNETES_VERSION" "$src/bin/pulumi-resource-kubernetes"
}

RANDOM_LDFLAGS="-X stateful-apps/tools/pulumi-resource-random/randomprovider.Version=$PULUMI_RANDOM_VERSION"

build_random() {
  local name=pulumi-resource-random src="$BUILD_ROOT/pulumi-resource-random"
  fresh_copy "$name"
  log "building random plugin $PULUMI_RANDOM_VERSION: terraform-provider-random@$(mod_version "$name" github.com/terraform-providers/terraform-provider-random)" \
    "via pulumi-terraform-bridge@$(mod_version "$name" github.com/pulumi/pulumi-terraform-bridge/v3) (see tools/go/$name/README.md)"
  # 1. The schema generator, then the schema and bridge metadata.
  go_build_into --out "$src/bin" "$src" "$RANDOM_LDFLAGS" ./cmd/pulumi-tfgen-random
  # Docs are left out: finding them makes tfgen convert the HCL examples with
  # `pulumi convert` and the Terraform converter plugin, which is not available here.
  (cd "$src" && PULUMI_CONVERT=false "$src/bin/pulumi-tfgen-random" schema --out "$src/schema" >"$src/tfgen.log" 2>&1) ||
    { tail -n 40 "$src/tfgen.log" >&2; die "pulumi-tfgen-random schema failed (log: $src/tfgen.log)"; }
  # 2. Embed them into the provider.
  cp "$src/schema/bridge-metadata.json" "$src/randomprovider/bridge-metadata.json"
  cp "$GO_WRAPPERS/pulumi-resource-kubernetes/embedgen.go" "$src/embedgen.go"
  (cd "$src" && go run embedgen.go schema/schema.json cmd/pulumi-resource-random/schema-embed.json "$PULUMI_RANDOM_VERSION")
  go_build_into --out "$src/bin" "$src" "$RANDOM_LDFLAGS" ./cmd/pulumi-resource-random
  install_plugin random "$PULUMI_RANDOM_VERSION" "$src/bin/pulumi-resource-random"
}

# setup_plugin NAME VERSION WRAPPER BUILDFN LDFLAGS
setup_plugin() {
  local name=$1 version=$2 wrapper=$3 buildfn=$4 ldflags=$5 s
  s="$(stamp_value "$wrapper" "$wrapper" "version=$version ldflags=$ldflags")"
  # The plugin cache is the project's own (PULUMI_HOME in tools/lib.sh): every plugin in it was
  # built here, so an installed plugin without a current stamp is rebuilt.
  if plugin_installed "$name" "$version" && is_current "$wrapper" "$s"; then
    log "$name plugin $version: up to date"
    return 0
  fi
  phase "build $name plugin" "$buildfn"
  write_stamp "$wrapper" "$s"
}

start=$SECONDS
setup_cli
command -v pulumi >/dev/null || die "pulumi is not on PATH after setup"
setup_plugin kubernetes "$PULUMI_KUBERNETES_VERSION" pulumi-resource-kubernetes build_kubernetes "$K8S_LDFLAGS"
setup_plugin random "$PULUMI_RANDOM_VERSION" pulumi-resource-random build_random \
  "$RANDOM_LDFLAGS embedgen=$(sha256sum <"$GO_WRAPPERS/pulumi-resource-kubernetes/embedgen.go")"

log "pulumi: $(command -v pulumi) $(pulumi version)"
pulumi plugin ls 2>/dev/null | awk 'NR == 1 || ($1 == "kubernetes" || $1 == "random")' >&2
log "setup-pulumi done in $((SECONDS - start))s"
