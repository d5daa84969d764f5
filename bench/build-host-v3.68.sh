#!/usr/bin/env bash
# Builds the language host the project used until it got its own (sdk/v3@v3.68.0's
# pulumi-language-nodejs, from the wrapper module as committed in tools/go/pulumi-language-nodejs
# at COMMIT) into DIR, for `BENCH_COMPARE_HOST_DIR=DIR BENCH_COMPARE_HOST_LABEL=v3.68-host npm run bench`.
#   bash bench/build-host-v3.68.sh DIR [COMMIT]     (default COMMIT: the newest one whose go.mod requires sdk/v3 v3.68.0)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
dir=${1:?usage: bench/build-host-v3.68.sh DIR [COMMIT]}
commit=${2:-}
if [[ -z "$commit" ]]; then
  for c in $(git -C "$PROJECT_DIR" log --format=%H -- tools/go/pulumi-language-nodejs/go.mod); do
    if git -C "$PROJECT_DIR" show "$c:tools/go/pulumi-language-nodejs/go.mod" | grep -q 'github.com/pulumi/pulumi/sdk/v3 v3.68.0'; then commit=$c; break; fi
  done
fi
[[ -n "$commit" ]] || die "no commit of tools/go/pulumi-language-nodejs/go.mod requires sdk/v3 v3.68.0"
mod=$(mktemp -d)
for f in go.mod go.sum; do git -C "$PROJECT_DIR" show "$commit:tools/go/pulumi-language-nodejs/$f" >"$mod/$f"; done
mkdir -p "$dir"
(cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.68.0" \
  -o "$dir/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
rm -rf "$mod"
log "built $dir/pulumi-language-nodejs (sdk/v3 v3.68.0, wrapper module of ${commit:0:12})"
