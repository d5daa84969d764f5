#!/usr/bin/env bash
# machine_state: what the local cluster may change on this machine, one line per fact, so that a
# test can compare the machine before `up` with the machine after `down` (sourced by the fault
# tests and e2e/run.sh; test infrastructure, not used by the cluster itself). Needs STATEFUL_APPS_CACHE.
#   links (bridges, veths), network namespaces, routes, KUBE-*/CNI-* chains (iptables and
#   ip6tables), the sysctls the nodes change, cgroups the kubelets made, cluster processes (by
#   process name), mounts under the cache, loop devices, ipsets (the policy engine's).
machine_state() {
  local cmd t
  ip -o link show | awk -F': ' '{print "link", $2}' | sort
  ip netns list 2>/dev/null | sed 's/^/netns /' | sort
  ip route show | sed 's/^/route /' | sort
  for cmd in iptables-save ip6tables-save; do
    command -v "$cmd" >/dev/null 2>&1 || continue
    for t in filter nat mangle raw; do
      "$cmd" -t "$t" 2>/dev/null | grep -E '^:(KUBE|CNI)-' | sed "s/^/$cmd $t /" | awk '{print $1, $2, $3}' | sort || true
    done
  done
  sysctl net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet \
    vm.overcommit_memory kernel.panic kernel.panic_on_oops 2>/dev/null | sed 's/^/sysctl /'
  find /sys/fs/cgroup -maxdepth 2 -type d \( -name kubepods -o -name 'kubepods.slice' -o -name 'stapps-node-*' \) 2>/dev/null | sed 's/^/cgroup /' | sort
  # Cluster processes by name (not command line: a shell or a git commit naming one of them is
  # not one; the kernel keeps 15 characters of a name: kube-controller-manager,
  # containerd-shim-runc-v2), live ones only: a zombie has exited and holds nothing but its pid
  # until this machine's pid 1 (not ours) reaps it, which can take a while after `down` stopped it.
  ps -e -o pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^(kubelet|containerd|containerd-shim|kube-apiserver|kube-controller|kube-scheduler|kwok|etcd|kube-proxy|coredns|sized-volumes|kube-router)$/ { print "process", $1, $3 }' || true
  ipset list -n 2>/dev/null | sed 's/^/ipset /' | sort || true
  awk -v d="$STATEFUL_APPS_CACHE/" 'index($2, d) == 1 { print "mount", $2 }' /proc/self/mounts
  losetup -l -n -O BACK-FILE 2>/dev/null | sed 's/^/loop /' || true
}
