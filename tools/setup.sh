#!/usr/bin/env bash
# Builds (first run) or finds (later runs) every tool the end-to-end suite and `npm start`
# need: the Pulumi CLI and its nodejs/kubernetes/random plugins, the Kubernetes control plane and
# node binaries, containerd, CoreDNS, kwok, etcd, helm, actionlint, Debian's runc/CNI/buildah, and
# the stand-in base images. Versions: tools/versions.env. Binaries: ~/.cache/stateful-apps/bin.
# Usage: tools/setup.sh [TOOL...]   (cluster tools to set up, as named by setup-cluster-tools.sh;
#                                    default: all of them; the Pulumi toolchain always)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_free_space "$STATEFUL_APPS_CACHE" "$CACHE_MIN_FREE_MIB" "the tools and the local cluster"

phase "debian packages" "$TOOLS_DIR/setup-cluster-tools.sh" debian
# The base images are mostly downloads: build them beside the CPU-bound Go builds.
bases_log="$STATEFUL_APPS_CACHE/images-bases.log"
"$PROJECT_DIR/cluster/images.sh" bases >"$bases_log" 2>&1 &
bases_pid=$!
phase "pulumi toolchain" "$TOOLS_DIR/setup-pulumi.sh"
phase "cluster toolchain" "$TOOLS_DIR/setup-cluster-tools.sh" "$@"
if ! wait "$bases_pid"; then
  cat "$bases_log" >&2
  die "building the stand-in base images failed (log: $bases_log)"
fi
log "base images: $(grep -c 'up to date\|built' "$bases_log") ready (log: $bases_log)"
