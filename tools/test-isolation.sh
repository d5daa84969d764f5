#!/usr/bin/env bash
# Proves that the project's toolchain never touches the user's own Pulumi: tools/setup-pulumi.sh
# run with a scratch HOME writes no ~/.pulumi there, and the plugins it uses (one built from a
# different source than its version label says) are found only under the project's PULUMI_HOME.
# The real cache is reused (STATEFUL_APPS_CACHE, Go caches), so this takes seconds once built.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gocache=$(go env GOCACHE) gomodcache=$(go env GOMODCACHE)
env -u PULUMI_HOME HOME="$scratch" STATEFUL_APPS_CACHE="$STATEFUL_APPS_CACHE" GOCACHE="$gocache" GOMODCACHE="$gomodcache" \
  GOPATH="$(go env GOPATH)" bash "$TOOLS_DIR/setup-pulumi.sh" >"$scratch.log" 2>&1 ||
  { cat "$scratch.log" >&2; rm -f "$scratch.log"; die "setup-pulumi.sh failed with a scratch HOME"; }
rm -f "$scratch.log"
failed=0
if [[ -e "$scratch/.pulumi" ]]; then
  log "FAIL: setup-pulumi.sh wrote $scratch/.pulumi: $(find "$scratch/.pulumi" | head -5 | tr '\n' ' ')"
  failed=1
fi
plugins=$(PULUMI_HOME="$STATEFUL_APPS_CACHE/pulumi-home" pulumi plugin ls 2>/dev/null)
for p in "kubernetes $PULUMI_KUBERNETES_VERSION" "random $PULUMI_RANDOM_VERSION"; do
  if ! awk -v n="${p% *}" -v v="${p#* }" '$1 == n && $3 == v { f = 1 } END { exit !f }' <<<"$plugins"; then
    log "FAIL: the $p plugin is not in the project's PULUMI_HOME ($STATEFUL_APPS_CACHE/pulumi-home)"
    failed=1
  fi
done
if [[ "$PULUMI_HOME" != "$STATEFUL_APPS_CACHE/pulumi-home" ]]; then
  log "FAIL: tools/lib.sh sets PULUMI_HOME=$PULUMI_HOME, not the project's own"
  failed=1
fi
((failed == 0)) || exit 1
echo "toolchain isolation: 3 passed, 0 failed"
