#!/usr/bin/env bash
# Builds (first run) or finds (later runs) every tool the end-to-end suite and `npm start`
# need: the Pulumi CLI and its nodejs/kubernetes/random plugins, the Kubernetes control plane,
# kwok, etcd, helm and actionlint. Versions: tools/versions.env. Binaries: ~/.cache/stateful-apps/bin.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

phase "pulumi toolchain" "$TOOLS_DIR/setup-pulumi.sh"
phase "cluster toolchain" "$TOOLS_DIR/setup-cluster-tools.sh" "$@"
