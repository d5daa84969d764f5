#!/usr/bin/env bash
# npm run bench — Pulumi (raw and Helm mode) vs Helm vs kubectl, side by side, on a kwok-only
# cluster of its own (simulated nodes: pods become Ready without containers; this measures the
# tools, not the pods). Writes docs/bench/{README.md,results.json,bench.svg}.
#
#   npm run bench                                  # 5 interleaved repetitions, dev + N = 1, 5, 20
#   BENCH_REPS=1 BENCH_WORKLOADS=dev,1 npm run bench   # a quick look
#   KUBECONFIG=... npm run bench -- --real-node    # real pods on an existing cluster (bench/realNode.ts)
#
# Env (kwok mode): BENCH_REPS (5), BENCH_WORKLOADS (dev,1,5,20), BENCH_LEVERS (1: also the issue
#   #11 §2 levers on the dev workload), BENCH_TOOLS (comma list, default all), BENCH_OUT
#   (docs/bench), BENCH_KEEP_CLUSTER=1 (leave the cluster up for another run; `bash bench/bench.sh
#   --down` removes it).
# Env (--real-node): see bench/realNode.ts.
#
# The kwok cluster is created by cluster/cluster.sh with E2E_REAL_NODE=0 under a cache root of
# its own ($STATEFUL_APPS_CACHE/bench, tools shared through a symlink): cluster.sh keeps one
# kubeconfig per cache root ($STATEFUL_APPS_CACHE/kwok/kubeconfig, whatever E2E_CLUSTER_NAME), so
# a second cluster under the same root would overwrite, and its `down` delete, the kubeconfig of
# the main cluster (the one the real node's kubelet and the end-to-end suite use).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
cd "$PROJECT_DIR"

mode=kwok
for arg in "$@"; do
  case "$arg" in
    --real-node) mode=real-node ;;
    --down) mode=down ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (expected --real-node or --down)" ;;
  esac
done

# Tools: build only what is missing (a current toolchain is left alone; a fresh machine builds it).
plugins="$PULUMI_HOME/plugins"
if ! [[ -x "$TOOLS_BIN/pulumi" && -x "$TOOLS_BIN/pulumi-language-nodejs" ]] ||
  ! compgen -G "$plugins/resource-kubernetes-v*" >/dev/null || ! compgen -G "$plugins/resource-random-v*" >/dev/null; then
  phase "pulumi toolchain" "$TOOLS_DIR/setup-pulumi.sh"
fi
for b in helm kwok kwokctl etcd kube-apiserver; do
  if [[ ! -x "$TOOLS_BIN/$b" ]]; then
    phase "cluster toolchain" "$TOOLS_DIR/setup-cluster-tools.sh" etcd kubernetes kwok helm
    break
  fi
done
[[ -d node_modules ]] || phase "npm ci" npm ci --no-audit --no-fund
command -v diff >/dev/null || die "kubectl diff needs diff(1) on PATH"

TS_NODE=(node "$PROJECT_DIR/node_modules/.bin/ts-node" --transpile-only)

if [[ "$mode" == real-node ]]; then
  [[ -n "${KUBECONFIG:-}" ]] || die "--real-node runs against an existing cluster: set KUBECONFIG"
  exec "${TS_NODE[@]}" bench/realNode.ts
fi

export BENCH_CLUSTER_CACHE="${BENCH_CLUSTER_CACHE:-$STATEFUL_APPS_CACHE/bench}"
mkdir -p "$BENCH_CLUSTER_CACHE"
[[ -e "$BENCH_CLUSTER_CACHE/bin" ]] || ln -s "$TOOLS_BIN" "$BENCH_CLUSTER_CACHE/bin"
cluster() {
  STATEFUL_APPS_CACHE="$BENCH_CLUSTER_CACHE" E2E_REAL_NODE=0 E2E_CLUSTER_NAME="${BENCH_CLUSTER_NAME:-stateful-apps-bench}" \
    E2E_PV_COUNT=0 E2E_NODE_COUNT="${BENCH_NODE_COUNT:-2}" E2E_USE_EXISTING_CLUSTER=0 "$PROJECT_DIR/cluster/cluster.sh" "$@"
}
if [[ "$mode" == down ]]; then
  cluster down
  exit 0
fi
teardown() {
  local rc=$?
  if [[ "${BENCH_KEEP_CLUSTER:-0}" == 1 ]]; then
    log "BENCH_KEEP_CLUSTER=1: cluster left up (tear it down: bash bench/bench.sh --down)"
  else
    phase "cluster down" cluster down || true
  fi
  exit $rc
}
trap teardown EXIT
KUBECONFIG="$(phase "cluster up (kwok only)" cluster up)"
export KUBECONFIG
phase "bench" "${TS_NODE[@]}" bench/bench.ts
