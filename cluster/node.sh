#!/usr/bin/env bash
# The local cluster's real node: containerd + runc + bridge CNI, a kubelet and kube-proxy joined
# to the control plane that cluster/cluster.sh runs, and CoreDNS behind the kube-dns Service.
# Containers really run here. Addresses: cluster/network.env.
#
#   cluster/node.sh up KUBECONFIG   start the node (idempotent: a running node is kept)
#   cluster/node.sh down            stop everything `up` started, by recorded PID, and restore the
#                                   machine: mounts, bridge, routes, KUBE-*/CNI-* iptables chains,
#                                   cgroups, and the sysctls the node changed
#   cluster/node.sh ctr ARGS...     ctr against the node's containerd (namespace k8s.io)
#
# NODE_INDEX=i (default 0) selects which node: every node is this script run with its own index,
# so each has its own containerd (root, state, socket), kubelet (root dir, cgroup root, healthz
# port), bridge and pod range (network.env's node_addresses) and its own sized-volume provisioner.
# All nodes share this machine's network namespace: the control plane listens on loopback only,
# and one set of kube-proxy rules (the first node's kube-proxy) serves every node's pods, since
# they are the same netfilter tables; packets between nodes' bridges are routed by this machine.
# The first node (0) also runs kube-proxy and CoreDNS, records the machine's state at up and
# restores it at down: stop the other nodes first (cluster.sh down does).
#
# Nothing leaves the machine: the pod and Service ranges are routed onto the bridge (an
# unrewritten packet dies there instead of following the default route), CNI does no
# masquerade, CoreDNS forwards nowhere, and every listener is on 127.0.0.1 or the bridge.
set -euo pipefail
NODE_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tools/lib.sh
. "$NODE_SRC/../tools/lib.sh"
# shellcheck source=network.env
. "$NODE_SRC/network.env"

NODE_INDEX="${NODE_INDEX:-0}"
node_addresses "$NODE_INDEX" || die "NODE_INDEX: allowed 0..$((MAX_NODES - 1)), not '$NODE_INDEX'"
FIRST_NODE=0; ((NODE_INDEX == 0)) && FIRST_NODE=1
if ((FIRST_NODE)); then NODE_HOME="$STATEFUL_APPS_CACHE/node"; else NODE_HOME="$STATEFUL_APPS_CACHE/node-$NODE_INDEX"; fi
# The first node's kubelet keeps the default cgroup root (/kubepods); another node's gets one of
# its own, or each kubelet would remove the other's pod cgroups as orphans.
if ((FIRST_NODE)); then CGROUP_ROOT=/; else CGROUP_ROOT=/stapps-node-$NODE_INDEX; fi
KUBELET_HEALTHZ_PORT=$((10248 + 100 * NODE_INDEX))
CONTAINERD_ROOT="$NODE_HOME/containerd"   # image store: kept between clusters (re-imports are skipped)
RUN="$NODE_HOME/run"                      # everything else: removed by down
CONTAINERD_STATE="$RUN/containerd"
CONTAINERD_SOCK="$CONTAINERD_STATE/containerd.sock"
PIDS="$RUN/pids"
LOGS="$RUN/logs"
ETC="$RUN/etc"
RECORD="$STATEFUL_APPS_CACHE/node/restore" # what up changed on the machine, for the first node's down
KUBELET_ROOT="$RUN/kubelet"
SIZED_VOLUMES="$RUN/volumes"              # StorageClass "sized": one loop-mounted XFS image per claim
# Paths that the kubelet, containerd or CNI may create outside our own directories. Those that
# did not exist before `up` are removed by `down`.
HOST_PATHS=(/var/log/containers /var/log/pods /var/lib/kubelet /var/lib/cni /run/containerd /opt/containerd /var/run/netns /etc/cni /run/nri)
# Sysctls the node needs or that the kubelet rewrites: recorded at up, restored at down.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet vm.overcommit_memory kernel.panic kernel.panic_on_oops)

# shellcheck source=images.env
. "$NODE_SRC/images.env"   # PAUSE_IMAGE, COREDNS_IMAGE
# shellcheck source=network-policy.sh
. "$NODE_SRC/network-policy.sh"   # the first node's NetworkPolicy engine (CLUSTER_NETWORK_POLICY=1)

ctr_() { "$TOOLS_BIN/ctr" -a "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# ── processes ────────────────────────────────────────────────────────────────────────────────
# start NAME CMD...: runs CMD in its own session, logs to $LOGS/NAME.log, records its PID.
start() {
  local name=$1; shift
  mkdir -p "$PIDS" "$LOGS"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  printf '%s\n' $! >"$PIDS/$name.pid"
}

# pid_of NAME: the recorded PID of NAME if that process is still the one we started (its
# command line names our run directory or binaries).
pid_of() {
  local f="$PIDS/$1.pid" pid cmd
  [[ -f "$f" ]] || return 1
  pid=$(<"$f")
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null) || return 1
  [[ "$cmd" == *"$NODE_HOME"* || "$cmd" == *"$TOOLS_BIN"* ]] || return 1
  printf '%s\n' "$pid"
}

running() { pid_of "$1" >/dev/null; }

# stop NAME: SIGTERM, then SIGKILL after 10 s, the process we recorded for NAME.
stop() {
  local pid i
  pid=$(pid_of "$1") || { rm -f "$PIDS/$1.pid"; return 0; }
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    [[ -d /proc/$pid && "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]] || break
    ((i == 50)) && kill -9 "$pid" 2>/dev/null
    sleep 0.1
  done
  rm -f "$PIDS/$1.pid"
}

wait_for() { # DESCRIPTION SECONDS CMD...
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "$what: not ready after ${secs}s (logs: $LOGS)"
}

# ── machine state ─────────────────────────────────────────────────────────────────────────────
record_machine() {
  [[ -f "$RECORD/sysctls" ]] && return 0   # an earlier up recorded the original values
  mkdir -p "$RECORD"
  local s p
  for s in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$s" "$(sysctl -n "$s")"; done >"$RECORD/sysctls.tmp"
  for p in "${HOST_PATHS[@]}"; do [[ -e "$p" ]] || printf '%s\n' "$p"; done >"$RECORD/absent-paths"
  mv "$RECORD/sysctls.tmp" "$RECORD/sysctls"
}

network_up() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
    ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$NODE_BRIDGE"
  fi
  ip link set "$NODE_BRIDGE" up
  # Whole ranges onto the first node's bridge: no packet for a cluster address may take the
  # default route (another node's pod range is its bridge's own, more specific, route).
  if ((FIRST_NODE)); then
    ip route replace "$SERVICE_CIDR" dev "$NODE_BRIDGE"
    ip route replace "$CLUSTER_CIDR" dev "$NODE_BRIDGE"
  fi
  sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
}

# cgroup_root_up: another node's cgroup root in every v1 hierarchy (and the unified one); the
# kubelet refuses a cgroup root that does not exist. A v1 cpuset starts empty: copy the parent's.
cgroup_root_up() {
  [[ "$CGROUP_ROOT" == / ]] && return 0
  local h d f
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h" && ! -L "${h%/}" ]] || continue
    d="$h${CGROUP_ROOT#/}"
    mkdir -p "$d"
    for f in cpuset.cpus cpuset.mems; do
      [[ ! -f "$d/$f" || -n "$(<"$d/$f")" ]] || cat "$h$f" >"$d/$f"
    done
  done
}

# ── up ────────────────────────────────────────────────────────────────────────────────────────
render_configs() {
  local kubeconfig=$1
  mkdir -p "$ETC/cni" "$RUN/cni-data" "$RUN/pod-logs" "$KUBELET_ROOT"
  local CA_FILE APISERVER_URL KUBECONFIG_FILE="$kubeconfig"
  CA_FILE=$(kubectl --kubeconfig "$kubeconfig" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')
  [[ -f "$CA_FILE" ]] || die "the kubeconfig's certificate-authority '$CA_FILE' is not a file"
  APISERVER_URL=$(kubectl --kubeconfig "$kubeconfig" config view --raw -o jsonpath='{.clusters[0].cluster.server}')
  # Template values besides network.env's and the paths above (fill reads them by name).
  local CNI_CONF_DIR="$ETC/cni" CNI_DATA_DIR="$RUN/cni-data" RESOLV_CONF="$ETC/resolv.conf" \
    POD_LOGS_DIR="$RUN/pod-logs" KUBECONFIG="$kubeconfig" COREDNS_IMAGE="$COREDNS_IMAGE"
  fill_template "$NODE_SRC/manifests/containerd.toml" >"$ETC/containerd.toml"
  fill_template "$NODE_SRC/manifests/cni.conflist" >"$ETC/cni/10-stateful-apps.conflist"
  fill_template "$NODE_SRC/manifests/kubelet.yaml" >"$ETC/kubelet.yaml"
  if ((FIRST_NODE)); then
    fill_template "$NODE_SRC/manifests/kube-proxy.yaml" >"$ETC/kube-proxy.yaml"
    fill_template "$NODE_SRC/manifests/coredns.yaml" >"$ETC/coredns.yaml"
  fi
  # Pods that use the node's DNS (dnsPolicy Default) get no resolver: none is reachable.
  printf '# stateful-apps local node: no upstream resolver (nothing may leave this machine)\nnameserver %s\n' "$NODE_IP" >"$ETC/resolv.conf"
}

containerd_up() {
  running containerd && return 0
  mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE"
  start containerd "$TOOLS_BIN/containerd" --config "$ETC/containerd.toml"
  wait_for "containerd" 30 ctr_ version
}

# import_images: every image archive of cluster/images.sh not imported since it was last built
# (the markers live in containerd's root, so a new image store imports everything again).
import_images() {
  local tar marker
  for tar in "$STATEFUL_APPS_CACHE"/images/*.tar; do
    [[ -f "$tar" ]] || continue
    marker="$CONTAINERD_ROOT/.imported-$(basename "$tar")"
    [[ -f "$marker" && ! "$tar" -nt "$marker" ]] && continue
    ctr_ images import "$tar" >/dev/null 2>&1 || die "ctr images import $tar failed"
    touch "$marker"
    log "imported $(<"${tar%.tar}.ref")"
  done
}

kubelet_up() {
  local kubeconfig=$1
  running kubelet && return 0
  start kubelet "$TOOLS_BIN/kubelet" --config "$ETC/kubelet.yaml" --kubeconfig "$kubeconfig" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --root-dir "$KUBELET_ROOT" \
    --cert-dir "$KUBELET_ROOT/pki" --v 1
  wait_for "node $NODE_NAME Ready" 90 kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
}

kube_proxy_up() {
  running kube-proxy && return 0
  start kube-proxy "$TOOLS_BIN/kube-proxy" --config "$ETC/kube-proxy.yaml" --v 1
  wait_for "kube-proxy" 30 curl -fsS http://127.0.0.1:10256/healthz
}

# sized_volumes_up: this node's provisioner and resizer for the StorageClass "sized" (the volumes
# are on this node's disk, so each node runs its own; tools/go/sized-volumes says why XFS).
sized_volumes_up() {
  local kubeconfig=$1
  running sized-volumes && return 0
  command -v mkfs.xfs >/dev/null 2>&1 || die "mkfs.xfs is missing: tools/setup-cluster-tools.sh debian"
  start sized-volumes "$TOOLS_BIN/sized-volumes" --kubeconfig "$kubeconfig" --dir "$SIZED_VOLUMES" --node "$NODE_NAME"
  wait_for "sized-volumes" 10 test -d "$SIZED_VOLUMES"
}

# Loop devices still backed by an image under DIR (normally none: umount frees a loop mount's).
detach_loops_under() {
  local dev file
  { losetup -l -n -O NAME,BACK-FILE 2>/dev/null || true; } | while read -r dev file; do
    [[ "$file" == "$1"/* ]] && losetup -d "$dev" 2>/dev/null || true
  done
}

coredns_up() {
  local kubeconfig=$1
  kubectl --kubeconfig "$kubeconfig" apply -f "$ETC/coredns.yaml" >/dev/null
  kubectl --kubeconfig "$kubeconfig" -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null ||
    die "CoreDNS did not become ready (kubectl -n kube-system describe pod -l k8s-app=kube-dns; logs: $LOGS)"
}

cmd_up() {
  local kubeconfig=${1:?usage: node.sh up KUBECONFIG}
  [[ $(id -u) == 0 ]] || die "the real node needs root (network namespaces, mounts, iptables)"
  local b
  for b in containerd containerd-shim-runc-v2 ctr kubelet kube-proxy sized-volumes; do
    [[ -x "$TOOLS_BIN/$b" ]] || die "$TOOLS_BIN/$b is missing: run tools/setup-cluster-tools.sh node kubernetes"
  done
  [[ -x /usr/sbin/runc && -x /usr/lib/cni/bridge ]] || die "runc or the CNI plugins are missing: tools/setup-cluster-tools.sh debian"
  if ((FIRST_NODE)); then
    record_machine
  else
    [[ -f "$RECORD/sysctls" ]] || die "node $NODE_INDEX needs the first node up first (it records the machine's state)"
  fi
  phase "node network ($NODE_BRIDGE $NODE_IP, pods $POD_CIDR)" network_up
  cgroup_root_up
  render_configs "$kubeconfig"
  phase "containerd" containerd_up
  phase "images" import_images
  phase "kubelet" kubelet_up "$kubeconfig"
  if ((FIRST_NODE)); then
    phase "kube-proxy" kube_proxy_up
    phase "coredns" coredns_up "$kubeconfig"
    if [[ "$CLUSTER_NETWORK_POLICY" == 1 ]]; then
      phase "network policy engine (kube-router firewall)" network_policy_up "$kubeconfig"
    fi
  fi
  phase "sized volumes" sized_volumes_up "$kubeconfig"
}

# ── down ──────────────────────────────────────────────────────────────────────────────────────
# Containers outlive containerd (their shims are reparented): kill every task first.
kill_tasks() {
  running containerd || return 0
  local ids id
  ids=$(ctr_ tasks ls -q 2>/dev/null || true)
  for id in $ids; do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for id in $ids; do
    ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_ containers ls -q 2>/dev/null || true); do ctr_ containers delete "$id" >/dev/null 2>&1 || true; done
}

# Shims started by our containerd: their command line names our containerd's address.
stop_shims() {
  local pid cmd
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true); do
    cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null) || continue
    [[ "$cmd" == *"$CONTAINERD_SOCK"* ]] && kill -9 "$pid" 2>/dev/null || true
  done
}

unmount_under() { # DIR: every mount below DIR, deepest first
  local m
  { awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r || true; } | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

# Rules that jump to KUBE-*/CNI-* chains are deleted, then those chains (iptables and ip6tables).
iptables_clean() {
  local cmd table rule chain
  for cmd in iptables ip6tables; do
    command -v "$cmd-save" >/dev/null 2>&1 || continue
    for table in filter nat mangle raw; do
      { "$cmd-save" -t "$table" 2>/dev/null | grep -E '^-A .* -j (KUBE|CNI)-' || true; } | while IFS= read -r rule; do
        eval "$cmd -t $table -D ${rule#-A }" 2>/dev/null || true
      done
      for chain in $("$cmd-save" -t "$table" 2>/dev/null | sed -nE 's/^:((KUBE|CNI)-[^ ]+) .*/\1/p'); do
        "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$cmd-save" -t "$table" 2>/dev/null | sed -nE 's/^:((KUBE|CNI)-[^ ]+) .*/\1/p'); do
        "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

# kubepods cgroups the kubelet created (under this node's cgroup root), in every v1 controller
# and the unified hierarchy; another node's cgroup root itself too.
cgroups_clean() {
  local d r=${CGROUP_ROOT#/}
  for d in /sys/fs/cgroup/*/${r:+$r/}kubepods /sys/fs/cgroup/*/${r:+$r/}kubepods.slice /sys/fs/cgroup/${r:+$r/}kubepods ${r:+/sys/fs/cgroup/*/$r}; do
    [[ -d "$d" ]] || continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

restore_machine() {
  local line p
  if [[ -f "$RECORD/sysctls" ]]; then
    while IFS= read -r line; do sysctl -q -w "$line" || log "warning: could not restore $line"; done <"$RECORD/sysctls"
  fi
  if [[ -f "$RECORD/absent-paths" ]]; then
    while IFS= read -r p; do
      [[ -n "$p" && -e "$p" ]] || continue
      unmount_under "$p"
      rm -rf "$p"
    done <"$RECORD/absent-paths"
  fi
  rm -rf "$RECORD"
}

cmd_down() {
  stop kube-router
  stop sized-volumes
  stop kube-proxy
  stop kubelet
  kill_tasks
  stop containerd
  stop_shims
  unmount_under "$RUN"
  unmount_under "$CONTAINERD_ROOT"
  detach_loops_under "$RUN"
  if ((FIRST_NODE)); then
    iptables_clean
    network_policy_clean
  fi
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    if ((FIRST_NODE)); then
      ip route del "$SERVICE_CIDR" dev "$NODE_BRIDGE" 2>/dev/null || true
      ip route del "$CLUSTER_CIDR" dev "$NODE_BRIDGE" 2>/dev/null || true
    fi
    ip link del "$NODE_BRIDGE"
  fi
  # veths of pods whose network namespace outlived the shims (normally none).
  local v
  for v in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [[ "$(cat /sys/class/net/"$v"/master/uevent 2>/dev/null)" == *"$NODE_BRIDGE"* ]] && ip link del "$v" 2>/dev/null || true
  done
  cgroups_clean
  # /var/log/containers may have existed before: only the links this kubelet made into our pod logs go.
  find /var/log/containers -maxdepth 1 -type l -lname "$RUN/*" -delete 2>/dev/null || true
  ((FIRST_NODE)) && restore_machine
  rm -rf "$RUN"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  ctr) shift; ctr_ "$@" ;;
  *) die "usage: cluster/node.sh up KUBECONFIG | down | ctr ARGS..." ;;
esac
