#!/usr/bin/env bash
# Fault test (issue #19, case 6): the cache directory on a nearly full disk. tools/setup.sh must
# stop at once with an error naming the path, and leave nothing (no binary, no stamp) that a later
# run would trust. The "disk" is a 64 MiB tmpfs mounted for this test only and unmounted after.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tiny=$(mktemp -d /tmp/stateful-apps-tiny.XXXXXX)
cleanup() { umount "$tiny" 2>/dev/null || true; rmdir "$tiny"; }
trap cleanup EXIT
mount -t tmpfs -o size=64m tmpfs "$tiny"
out=$(STATEFUL_APPS_CACHE="$tiny" bash "$TOOLS_DIR/setup.sh" 2>&1) && die "tools/setup.sh succeeded with a 64 MiB cache directory"
grep -q "not enough free space in $tiny: [0-9]* MiB free" <<<"$out" || die "tools/setup.sh failed without naming the full path: $out"
left=$(find "$tiny" -mindepth 1 \( -type f -o -type l \) | head -5)
[[ -z "$left" ]] || die "tools/setup.sh left files behind in the full cache: $left"
# The same guard before every go build (setup-*.sh call it too, for an already created cache).
. "$TOOLS_DIR/lib.sh"
out=$(TOOLS_BIN="$tiny/bin" go_build_into "$GO_WRAPPERS/pause" "" . 2>&1) && die "go_build_into built into a full directory"
grep -q "not enough free space in $tiny/bin" <<<"$out" || die "go_build_into failed without naming the full path: $out"
[[ -z "$(find "$tiny" -mindepth 1 -type f | head -1)" ]] || die "go_build_into left files in the full directory"
log "a nearly full cache directory: setup stops at once naming $tiny, nothing half-written left"
