#!/usr/bin/env bash
# npm run test:e2e — one command: build/find the tools, start the local control plane, run the
# end-to-end scenarios with the real Pulumi engine and providers, always tear the cluster down.
#   E2E_USE_EXISTING_CLUSTER=1 KUBECONFIG=~/.kube/config npm run test:e2e   # your own cluster
#   E2E_STACKS=dev E2E_METHODS=raw npm run test:e2e                          # a subset of scenario 1
#   E2E_GREP='prod stack' npm run test:e2e                                    # only matching scenarios
# Previews and command logs are kept in .e2e-artifacts/.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
cd "$PROJECT_DIR"
started=$SECONDS

phase "tools" "$TOOLS_DIR/setup.sh"
[[ -d node_modules && -d policy/node_modules ]] || phase "npm ci" npm ci --no-audit --no-fund

# npm start's cluster is this same local cluster (one bridge, one set of ranges), and the suite
# tears its cluster down at the end: never run it over a cluster the user started (running or
# stopped: etcd holds their stacks' objects), nor over another run of the suite. A cluster an
# interrupted run of the suite left behind is its own, and is torn down before this run: reusing
# it would start the scenarios among that run's left-over objects (nodes, claims, volumes), which
# is how a killed run once failed the next one's zone and two-node scenarios.
if [[ "${E2E_USE_EXISTING_CLUSTER:-0}" != 1 ]]; then
  run_pid_file="$STATEFUL_APPS_CACHE/test-e2e.pid"
  other=$(cat "$run_pid_file" 2>/dev/null || true)
  if [[ -n "$other" && "$other" != "$$" ]] && tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | grep -q "e2e/run.sh"; then
    die "another npm run test:e2e (pid $other) is running in the local cluster; wait for it to end"
  fi
  if starter=$("$PROJECT_DIR/cluster/cluster.sh" started-by); then
    [[ "$starter" == test:e2e ]] ||
      die "the local cluster is already up (npm start?), started by $starter, and the end-to-end suite would tear it down; stop it first with npm run stop, or run the suite in it with E2E_USE_EXISTING_CLUSTER=1 KUBECONFIG=\$(cluster/cluster.sh kubeconfig) npm run test:e2e"
    log "the local cluster was left by an interrupted run of this suite: tearing it down before a fresh one"
    phase "left-over cluster down" "$PROJECT_DIR/cluster/cluster.sh" down
  fi
  mkdir -p "$STATEFUL_APPS_CACHE"
  echo "$$" >"$run_pid_file"
  export CLUSTER_STARTED_BY=test:e2e
  # The suite's cluster has two real nodes (placement, drain and node-loss scenarios).
  export CLUSTER_NODES="${CLUSTER_NODES:-2}"
  # From a machine without a cluster, teardown must leave it exactly as it was (checked below).
  # shellcheck source=../cluster/machine-state.sh
  . "$PROJECT_DIR/cluster/machine-state.sh"
  "$PROJECT_DIR/cluster/cluster.sh" started-by >/dev/null 2>&1 || machine_before=$(machine_state)
fi

teardown() {
  local rc=$?
  phase "cluster down" "$PROJECT_DIR/cluster/cluster.sh" down || rc=1
  if [[ -n "${machine_before:-}" ]]; then
    local after
    after=$(machine_state)
    if [[ "$after" != "$machine_before" ]]; then
      log "ERROR: cluster down did not restore the machine (before up vs after down):"
      diff <(echo "$machine_before") <(echo "$after") >&2 || true
      rc=1
    else
      log "machine restored after cluster down (links, netns, routes, chains, sysctls, cgroups, processes, mounts, loops as before up)"
    fi
  fi
  [[ -z "${run_pid_file:-}" ]] || rm -f "$run_pid_file"
  log "end-to-end total: $((SECONDS - started))s (exit $rc)"
  exit $rc
}
trap teardown EXIT

KUBECONFIG="$(phase "cluster up" "$PROJECT_DIR/cluster/cluster.sh" up)"
export KUBECONFIG
rm -rf .e2e-artifacts
phase "scenarios" npx mocha --config .mocharc.e2e.json ${E2E_GREP:+--grep "$E2E_GREP"}
