# shellcheck shell=bash
# The local cluster's NetworkPolicy engine: kube-router's network-policy firewall alone
# (`--run-firewall`; no routing, no service proxy, no CNI), beside the bridge CNI. Sourced by
# cluster/node.sh, whose first node runs it (start/stop/pid_of/wait_for are node.sh's).
#
# One instance, for the first node. kube-router enforces policies on the pods of the node it runs
# for (those whose status.hostIP is that node's InternalIP), and on every packet to or from them,
# whichever node the other end is on. The real nodes share one network namespace, so a second
# instance for node 1 would rewrite the same filter table and delete the first one's pod chains
# as stale: node 1's pods are not policed (README, Still not real). Host traffic to pods (the
# kubelet's probes, this machine's requests, the lab) is node-local and stays allowed, as
# kube-router allows its node's own addresses.
#
# v2.1.0 is the release the Go module proxy serves; security advisories are reported against it,
# acceptable only for this local test cluster. `kube-router --cleanup-config` crashes without IPVS
# in this kernel, so down removes its chains (node.sh iptables_clean: KUBE-ROUTER-*, KUBE-POD-FW-*,
# KUBE-NWPLCY-*) and its ipsets itself.

# The prefixes of kube-router's ipsets (pkg/controllers/netpol: kubeSourceIPSetPrefix, kubeDestinationIPSetPrefix).
NETWORK_POLICY_IPSETS='^KUBE-(SRC|DST)-'

# network_policy_up KUBECONFIG: starts the engine unless it runs; returns after its first full sync.
network_policy_up() {
  local kubeconfig=$1
  running kube-router && return 0
  command -v ipset >/dev/null 2>&1 || die "ipset is missing: tools/setup-cluster-tools.sh debian"
  [[ -x "$TOOLS_BIN/kube-router" ]] || die "$TOOLS_BIN/kube-router is missing: tools/setup-cluster-tools.sh kube-router"
  # The log is appended to across restarts: only this start's lines count.
  local log="$LOGS/kube-router.log" from=1
  [[ -f "$log" ]] && from=$(($(wc -l <"$log") + 1))
  start kube-router "$TOOLS_BIN/kube-router" --kubeconfig "$kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false --enable-cni=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port 0 --metrics-port 0 --v 1
  # shellcheck disable=SC2016
  wait_for "kube-router's first policy sync" 60 sh -c 'tail -n "+$1" "$2" | grep -q "sync iptables took"' _ "$from" "$log"
}

# network_policy_clean: the engine's ipsets (after iptables_clean removed the rules using them).
network_policy_clean() {
  command -v ipset >/dev/null 2>&1 || return 0
  local set
  for set in $(ipset list -n 2>/dev/null | grep -E "$NETWORK_POLICY_IPSETS" || true); do
    ipset destroy "$set" 2>/dev/null || log "warning: could not destroy ipset $set"
  done
}
