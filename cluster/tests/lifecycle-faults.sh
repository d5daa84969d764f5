#!/usr/bin/env bash
# Fault test (issue #19, case 1): `npm start`, then the README's own manual
# `pulumi destroy --yes --run-program`, then `npm run stop`. Before the fix, stop's second destroy
# of the now-empty stack recorded the program's components again, `pulumi stack rm` refused, and
# under `set -e` the cluster was never torn down. Asserts that stop exits 0 and leaves the machine
# as it found it: no process of the cluster, no bridge, no KUBE-*/CNI-* chain, ip_forward as before.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib.sh"
. "$PROJECT_DIR/cluster/local-env.sh"
cd "$PROJECT_DIR"

machine_state() {
  { ip -o link show | awk -F': ' '{print $2}' | sort
    iptables-save 2>/dev/null | grep -E '^:(KUBE|CNI)-' | sort || true
    sysctl -n net.ipv4.ip_forward
    pgrep -l -f '(^|/)(kubelet|containerd|kube-apiserver|etcd|kube-proxy|coredns) ' || true
  }
}
before=$(machine_state)

bash cluster/start.sh >"$STATEFUL_APPS_CACHE/test-stop-start.log" 2>&1 || { cat "$STATEFUL_APPS_CACHE/test-stop-start.log" >&2; die "npm start failed"; }
(
  use_local_cluster
  cd "$LOCAL_WORKSPACE"
  pulumi destroy --yes --run-program --stack "$LOCAL_STACK" >/dev/null
)
log "manual destroy done; now npm run stop"
bash cluster/stop.sh || die "npm run stop failed after a manual pulumi destroy"
after=$(machine_state)
[[ "$after" == "$before" ]] || die "npm run stop did not restore the machine; before vs after: $(diff <(echo "$before") <(echo "$after"))"
log "npm run stop after a manual destroy: exit 0, machine restored"
