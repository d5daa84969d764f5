#!/usr/bin/env bash
# The local Kubernetes cluster of `npm start` and the end-to-end suite: a real etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler running as local processes
# (kwokctl's "binary" runtime), and one REAL node (cluster/node.sh: containerd, runc, bridge CNI,
# kubelet, kube-proxy, CoreDNS) on which containers really run, from images built locally
# (cluster/images.sh). Optional simulated kwok nodes (E2E_NODE_COUNT) are for benchmarks that
# need many nodes or pods; kwok never touches the real node.
#
#   cluster/cluster.sh up           create the cluster (or reuse a healthy one) + default StorageClass
#                                   + a pool of pre-created hostPath PersistentVolumes + StorageClass
#                                   "sized" (provisioned XFS images, see node.sh); prints the
#                                   kubeconfig path on stdout (logs go to stderr):
#                                   export KUBECONFIG=$(cluster/cluster.sh up)
#   cluster/cluster.sh down         stop the node and the control plane, restore the machine (safe to repeat)
#   cluster/cluster.sh kubeconfig   print the kubeconfig path
#   cluster/cluster.sh recycle-pvs  empty Released pool PVs and make them Available again
#   cluster/cluster.sh status       show the cluster's processes, nodes and PV pool
#   cluster/cluster.sh started-by   print who created the cluster (npm-start, test:e2e, or unknown for
#                                   one created before the mark existed); exit 1 when there is none
#
# Environment:
#   E2E_USE_EXISTING_CLUSTER=1  with KUBECONFIG set: use that cluster; up/down do nothing
#                               (recycle-pvs still works, on PVs labelled stateful-apps.e2e/pool)
#   E2E_CLUSTER_NAME            kwok cluster name (default stateful-apps-e2e)
#   E2E_REAL_NODE=0             no real node: only simulated kwok nodes (for benchmarks of the tools,
#                               not the pods; several such clusters can run side by side by name)
#   CLUSTER_NODES               real nodes, 1 (default: npm start) or 2 (e2e/run.sh): the same
#                               cluster/node.sh run per index; each pre-created PV belongs to one
#                               node (nodeAffinity), the pool split evenly between them
#   CLUSTER_NETWORK_POLICY      1 (default, network.env) runs the NetworkPolicy engine
#                               (cluster/network-policy.sh: kube-router's firewall, for the first
#                               node's pods); 0 runs none
#   E2E_NODE_COUNT              simulated kwok nodes besides the real node (default 0; 2 without it)
#   E2E_PV_COUNT                pre-created PVs (default 80); E2E_PV_CAPACITY each (default 10Gi)
#   E2E_VOLUME_BINDING_MODE     StorageClass volumeBindingMode: Immediate (default) or WaitForFirstConsumer
#   E2E_FRESH_CLUSTER=1         up deletes an existing cluster instead of reusing it
#   CLUSTER_STARTED_BY          who runs up (default npm-start; e2e/run.sh sets test:e2e): recorded
#                               so the suite can tell its own interrupted cluster from the user's
#   STATEFUL_APPS_CACHE         cache root (default ~/.cache/stateful-apps); the control plane lives
#                               in $STATEFUL_APPS_CACHE/kwok, the node in $STATEFUL_APPS_CACHE/node
set -euo pipefail

CLUSTER_DIR_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../tools/lib.sh
. "$CLUSTER_DIR_SRC/../tools/lib.sh"

CLUSTER_NAME="${E2E_CLUSTER_NAME:-stateful-apps-e2e}"
KWOK_HOME="$STATEFUL_APPS_CACHE/kwok"
export KWOK_WORKDIR="$KWOK_HOME" # kwokctl keeps clusters in $KWOK_WORKDIR/clusters/NAME
CLUSTER_DIR="$KWOK_HOME/clusters/$CLUSTER_NAME"
# The default cluster's kubeconfig keeps its well-known path; any other cluster gets its own, so a
# second cluster (e.g. E2E_REAL_NODE=0 for a benchmark) never overwrites the first one's.
if [[ "$CLUSTER_NAME" == stateful-apps-e2e ]]; then OWN_KUBECONFIG="$KWOK_HOME/kubeconfig"; else OWN_KUBECONFIG="$KWOK_HOME/kubeconfig-$CLUSTER_NAME"; fi
REAL_NODE="${E2E_REAL_NODE:-1}"
# Real nodes (cluster/node.sh run once per index): 1 for npm start, 2 for the e2e suite.
CLUSTER_NODES="${CLUSTER_NODES:-1}"
if [[ "$REAL_NODE" == 1 ]]; then NODE_COUNT="${E2E_NODE_COUNT:-0}"; else NODE_COUNT="${E2E_NODE_COUNT:-2}"; fi
PV_COUNT="${E2E_PV_COUNT:-80}"
PV_CAPACITY="${E2E_PV_CAPACITY:-10Gi}"
BINDING_MODE="${E2E_VOLUME_BINDING_MODE:-Immediate}"
POOL_LABEL="stateful-apps.e2e/pool=true"
# shellcheck source=network.env
. "$CLUSTER_DIR_SRC/network.env"
[[ "$CLUSTER_NODES" =~ ^[0-9]+$ ]] && ((CLUSTER_NODES >= 1 && CLUSTER_NODES <= MAX_NODES)) ||
  die "CLUSTER_NODES: allowed 1..$MAX_NODES (real nodes), not '$CLUSTER_NODES'"
VOLUMES_DIR="$STATEFUL_APPS_CACHE/volumes/$CLUSTER_NAME"   # the hostPath PVs' directories
# Beside the cluster directory, not in it: written before kwokctl creates that directory, so even
# a create interrupted half-way leaves the mark of who started it.
STARTED_BY_FILE="$KWOK_HOME/$CLUSTER_NAME.started-by"

use_existing() { [[ "${E2E_USE_EXISTING_CLUSTER:-0}" == 1 ]]; }

kubeconfig_path() {
  if use_existing; then
    [[ -n "${KUBECONFIG:-}" ]] || die "E2E_USE_EXISTING_CLUSTER=1 but KUBECONFIG is not set"
    printf '%s\n' "${KUBECONFIG%%:*}"
  else
    printf '%s\n' "$OWN_KUBECONFIG"
  fi
}

k() { kubectl --kubeconfig "$(kubeconfig_path)" "$@"; }

require_kubectl() {
  command -v kubectl >/dev/null 2>&1 ||
    die "kubectl not on PATH (run tools/setup-cluster-tools.sh with BUILD_KUBECTL=1 to build one)"
}

# ---------------------------------------------------------------------------------------------

ensure_tools() {
  local b missing=()
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kwok kwokctl containerd coredns pause sized-volumes; do
    [[ -x "$TOOLS_BIN/$b" ]] || missing+=("$b")
  done
  # The setup script is a no-op in about a second when everything is current.
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "missing in $TOOLS_BIN: ${missing[*]}; building them (slow the first time)"
  fi
  local extra=()
  [[ "$CLUSTER_NETWORK_POLICY" != 1 ]] || extra+=(kube-router)
  "$PROJECT_DIR/tools/setup-cluster-tools.sh" debian etcd kubernetes kwok node "${extra[@]}"
}

cluster_exists() { [[ -f "$CLUSTER_DIR/kwok.yaml" ]]; }

mark_started_by() {
  mkdir -p "$KWOK_HOME"
  printf '%s\n' "${CLUSTER_STARTED_BY:-npm-start}" >"$STARTED_BY_FILE"
}

# started_by: who created the cluster that is here (a created one, or what an interrupted create
# left); exit 1 when there is none.
started_by() {
  cluster_exists || [[ -d "$CLUSTER_DIR" ]] || return 1
  if [[ -s "$STARTED_BY_FILE" ]]; then cat "$STARTED_BY_FILE"; else echo unknown; fi
}

cluster_healthy() {
  cluster_exists && [[ -f "$OWN_KUBECONFIG" ]] &&
    k get --raw /readyz --request-timeout=5s >/dev/null 2>&1
}

# dump_logs: the tail of every component log, for a failed up.
dump_logs() {
  local f
  for f in "$CLUSTER_DIR"/logs/*.log; do
    [[ -f "$f" ]] || continue
    log "---- $(basename "$f") (last 20 lines)"
    tail -n 20 "$f" >&2 || true
  done
}

create_cluster() {
  mkdir -p "$KWOK_HOME"
  rm -f "$OWN_KUBECONFIG"
  local out="$KWOK_HOME/create-$CLUSTER_NAME.log" config="$KWOK_HOME/kwokctl-$CLUSTER_NAME.yaml"
  PKI_DIR="$CLUSTER_DIR/pki" fill_template "$CLUSTER_DIR_SRC/manifests/kwokctl-config.yaml" >"$config"
  if ! kwokctl create cluster \
    --name "$CLUSTER_NAME" \
    --config "$config" \
    --runtime binary \
    --etcd-binary "$TOOLS_BIN/etcd" \
    --kube-apiserver-binary "$TOOLS_BIN/kube-apiserver" \
    --kube-controller-manager-binary "$TOOLS_BIN/kube-controller-manager" \
    --kube-scheduler-binary "$TOOLS_BIN/kube-scheduler" \
    --kwok-controller-binary "$TOOLS_BIN/kwok" \
    --secure-port=true \
    --kube-authorization=true \
    --kube-admission=true \
    --quiet-pull \
    --kubeconfig "$OWN_KUBECONFIG" \
    --timeout 5m >"$out" 2>&1; then
    cat "$out" >&2
    dump_logs
    die "kwokctl create cluster failed (log: $out, component logs: $CLUSTER_DIR/logs)"
  fi
  [[ -f "$OWN_KUBECONFIG" ]] || die "kwokctl did not write $OWN_KUBECONFIG (log: $out)"
  # Guard against a kwokctl change that turns admission off (it passes --admission-control= then).
  if grep -q -- '--admission-control=' "$CLUSTER_DIR/kwok.yaml"; then
    die "kube-apiserver was started with admission plugins disabled (see $CLUSTER_DIR/kwok.yaml)"
  fi
}

# restart_control_plane: a created cluster whose apiserver, etcd or controllers died (killed, or an
# interrupted create) gets the missing processes back with kwokctl (it starts only those whose
# recorded PID is gone), keeping etcd's data: recreating the cluster would lose every object and,
# with the node's volumes, every visit.
restart_control_plane() {
  local out="$KWOK_HOME/start-$CLUSTER_NAME.log" i f
  # kwokctl start skips a component whose pid file names a process that still answers signal 0,
  # which a killed component does until it is reaped (a zombie: this machine's pid 1 reaps late)
  # or once its pid is reused: only pid files of our own live processes are kept.
  for f in "$CLUSTER_DIR"/pids/*.pid; do
    if [[ -f "$f" ]] && ! live_pid "$f" >/dev/null; then rm -f "$f"; fi
  done
  kwokctl start cluster --name "$CLUSTER_NAME" >"$out" 2>&1 || { log "kwokctl start cluster failed (log: $out)"; return 1; }
  for ((i = 0; i < 60; i++)); do
    cluster_healthy && return 0
    sleep 1
  done
  log "the restarted control plane did not answer /readyz within 60s (log: $out)"
  return 1
}

add_nodes() {
  ((NODE_COUNT > 0)) || return 0
  local have
  have=$(k get nodes -o name -l type=kwok | wc -l)
  if ((have < NODE_COUNT)); then
    kwokctl scale node --name "$CLUSTER_NAME" --replicas "$NODE_COUNT" >/dev/null 2>&1 ||
      kwokctl scale node --name "$CLUSTER_NAME" --replicas "$NODE_COUNT" ||
      die "kwokctl scale node failed"
  fi
  k wait --for=condition=Ready node -l type=kwok --timeout=120s >/dev/null ||
    die "nodes did not become Ready (kwok controller log: $CLUSTER_DIR/logs/kwok-controller.log)"
}

# wait_controllers: the default ServiceAccount appears once kube-controller-manager runs its
# controllers; pods cannot be created before that.
wait_controllers() {
  local i
  for ((i = 0; i < 240; i++)); do
    k get serviceaccount default -n default >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  dump_logs
  die "kube-controller-manager did not create the default ServiceAccount within 120s"
}

apply_storage() {
  case "$BINDING_MODE" in Immediate | WaitForFirstConsumer) ;; *)
    die "E2E_VOLUME_BINDING_MODE must be Immediate or WaitForFirstConsumer, not '$BINDING_MODE'" ;;
  esac
  local have
  have=$(k get storageclass standard -o jsonpath='{.volumeBindingMode}' 2>/dev/null || true)
  if [[ -n "$have" && "$have" != "$BINDING_MODE" ]]; then
    # volumeBindingMode is immutable.
    k delete storageclass standard >/dev/null
  fi
  sed "s/__BINDING_MODE__/$BINDING_MODE/" "$CLUSTER_DIR_SRC/manifests/storageclass.yaml" | k apply -f - >/dev/null
  # Volumes that have their size: only real nodes run their provisioner.
  [[ "$REAL_NODE" == 1 ]] && k apply -f "$CLUSTER_DIR_SRC/manifests/storageclass-sized.yaml" >/dev/null
  # Existing PVs (bound or not) are left as they are: only missing ones are created, in 4
  # parallel batches (one kubectl create of 80 PVs takes ~5 s, mostly request round trips).
  local existing tpl pv i name batch_dir pids=() b NODE_NAME NODE_BRIDGE POD_CIDR NODE_IP
  existing=" $(k get pv -l "$POOL_LABEL" -o jsonpath='{.items[*].metadata.name}') "
  tpl=$(sed -e '/^#/d' -e "s/__CAPACITY__/$PV_CAPACITY/" -e "s#__VOLUMES_DIR__#$VOLUMES_DIR#" "$CLUSTER_DIR_SRC/manifests/pv.template.yaml")
  # Simulated nodes run nothing, so there a PV belongs to no node (the benchmark's clusters).
  [[ "$REAL_NODE" == 1 ]] || tpl=$(sed '/^  nodeAffinity:/,$d' <<<"$tpl")
  batch_dir=$(mktemp -d)
  for ((i = 1; i <= PV_COUNT; i++)); do
    name=$(printf '%03d' "$i")
    [[ "$existing" == *" e2e-pv-$name "* ]] && continue
    mkdir -p "$VOLUMES_DIR/pv-$name" && chmod 0777 "$VOLUMES_DIR/pv-$name"
    node_addresses $((i % CLUSTER_NODES))   # the pool is split evenly: PV i belongs to node i mod N
    pv=${tpl//__INDEX__/$name}
    printf -- '---\n%s\n' "${pv//__NODE_NAME__/$NODE_NAME}" >>"$batch_dir/batch-$((i % 4)).yaml"
  done
  for b in "$batch_dir"/batch-*.yaml; do
    [[ -f "$b" ]] || continue
    k create -f "$b" >/dev/null 2>"$b.err" &
    pids+=($!)
  done
  for b in "${pids[@]}"; do wait "$b" || true; done
  cat "$batch_dir"/*.err >&2 2>/dev/null || true
  rm -rf "$batch_dir"
  local n
  n=$(k get pv -l "$POOL_LABEL" -o name | wc -l)
  ((n >= PV_COUNT)) || die "only $n of $PV_COUNT PersistentVolumes exist"
}

cmd_up() {
  if use_existing; then
    local cfg
    cfg=$(kubeconfig_path)
    log "E2E_USE_EXISTING_CLUSTER=1: using the cluster of KUBECONFIG=$cfg; not creating one"
    if command -v kubectl >/dev/null 2>&1 && ! k get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
      log "warning: that cluster does not answer /readyz"
    fi
    printf '%s\n' "$cfg"
    return 0
  fi
  require_kubectl
  local start=$SECONDS
  phase "tools" ensure_tools
  mark_started_by
  local reused=0
  if cluster_exists && [[ "${E2E_FRESH_CLUSTER:-0}" != 1 ]]; then
    if cluster_healthy; then
      log "cluster $CLUSTER_NAME is already up; reusing it (E2E_FRESH_CLUSTER=1 recreates it)"
      reused=1
    elif phase "restart the control plane" restart_control_plane; then
      log "cluster $CLUSTER_NAME: its stopped control-plane processes were started again; etcd's data (every object) kept"
      reused=1
    fi
  fi
  if ((reused == 0)); then
    # A cluster that could not be restarted, E2E_FRESH_CLUSTER=1, or what an interrupted create
    # left: whatever it started is stopped (by recorded PID) before a new one.
    if [[ -d "$CLUSTER_DIR" ]]; then
      log "cluster $CLUSTER_NAME: removing the existing one (unhealthy, interrupted or E2E_FRESH_CLUSTER=1) before creating it"
      cmd_down
      mark_started_by
    fi
    phase "kwokctl create cluster" create_cluster
  fi
  if [[ "$REAL_NODE" == 1 ]]; then
    phase "images" "$CLUSTER_DIR_SRC/images.sh" build
    local i
    for ((i = 0; i < CLUSTER_NODES; i++)); do
      NODE_INDEX=$i phase "real node $i" "$CLUSTER_DIR_SRC/node.sh" up "$OWN_KUBECONFIG"
    done
  fi
  phase "simulated kwok nodes ($NODE_COUNT)" add_nodes
  phase "controllers" wait_controllers
  phase "storage (StorageClass standard, $PV_COUNT x $PV_CAPACITY PVs, $BINDING_MODE)" apply_storage
  log "cluster $CLUSTER_NAME is up ($(k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v1[^"]*\)".*/\1/p' | tail -1)) in $((SECONDS - start))s"
  log "kubeconfig: $OWN_KUBECONFIG   (export KUBECONFIG=\$(cluster/cluster.sh kubeconfig))"
  kubeconfig_path
}

# ---------------------------------------------------------------------------------------------

# live_pid FILE: the pid in one of kwokctl's pid files, while that process is alive and ours: its
# command line still names this cluster's directory (a zombie's is empty, a reused pid's another).
live_pid() {
  local pid cmdline
  pid=$(tr -dc '0-9' <"$1")
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$CLUSTER_DIR"* ]] && printf '%s\n' "$pid"
}

# our_pids: pids of processes started for this cluster that are still alive.
our_pids() {
  local f
  for f in "$CLUSTER_DIR"/pids/*.pid; do
    [[ -f "$f" ]] && live_pid "$f" || true
  done
}

cmd_down() {
  if use_existing; then
    log "E2E_USE_EXISTING_CLUSTER=1: leaving the cluster of KUBECONFIG=${KUBECONFIG:-} alone"
    return 0
  fi
  local start=$SECONDS
  # The nodes first, the first node last (it restores what the machine had): their containers,
  # mounts, bridges, routes, iptables chains and sysctls. Every index, whatever CLUSTER_NODES says
  # now, so a node left by an earlier run with more nodes goes too.
  if [[ "$REAL_NODE" == 1 ]]; then
    local i
    for ((i = MAX_NODES - 1; i >= 0; i--)); do NODE_INDEX=$i "$CLUSTER_DIR_SRC/node.sh" down; done
  fi
  rm -rf "$VOLUMES_DIR"
  if ! cluster_exists && [[ ! -d "$CLUSTER_DIR" ]]; then
    rm -f "$OWN_KUBECONFIG" "$STARTED_BY_FILE"
    log "cluster $CLUSTER_NAME is not up; nothing to do"
    return 0
  fi
  local pids
  pids=$(our_pids)
  if command -v kwokctl >/dev/null 2>&1 && cluster_exists; then
    kwokctl delete cluster --name "$CLUSTER_NAME" --kubeconfig "$OWN_KUBECONFIG" >/dev/null 2>&1 ||
      log "kwokctl delete cluster failed; stopping the processes directly"
  fi
  # Whatever kwokctl left running (or could not stop) is stopped here, by pid.
  local pid alive i
  for ((i = 0; i < 50; i++)); do
    alive=""
    for pid in $pids; do
      if [[ -d /proc/$pid ]] && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; then
        alive+=" $pid"
      fi
    done
    [[ -z "$alive" ]] && break
    if ((i == 0)); then
      # shellcheck disable=SC2086
      kill $alive 2>/dev/null || true
    elif ((i == 30)); then
      # shellcheck disable=SC2086
      kill -9 $alive 2>/dev/null || true
    fi
    sleep 0.2
  done
  [[ -z "$alive" ]] || die "processes still running after down:$alive"
  rm -rf "$CLUSTER_DIR" "$OWN_KUBECONFIG" "$STARTED_BY_FILE"
  log "cluster $CLUSTER_NAME deleted in $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------------------------

cmd_recycle_pvs() {
  require_kubectl
  local released pv n=0
  released=$(k get pv -l "$POOL_LABEL" \
    -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}')
  for pv in $released; do
    # The next claim must start empty, as a freshly provisioned volume would.
    if ! use_existing; then
      local dir
      dir=$(k get pv "$pv" -o jsonpath='{.spec.hostPath.path}')
      [[ "$dir" == "$VOLUMES_DIR"/* && -d "$dir" ]] && find "$dir" -mindepth 1 -delete
    fi
    k patch pv "$pv" --type=json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
    n=$((n + 1))
  done
  local phases
  phases=$(k get pv -l "$POOL_LABEL" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' |
    sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}')
  log "recycled $n Released PV(s); pool now: ${phases:-empty}"
}

cmd_status() {
  if ! use_existing; then
    if ! cluster_exists; then
      log "cluster $CLUSTER_NAME is not up"
      return 1
    fi
    local f
    for f in "$CLUSTER_DIR"/pids/*.pid; do
      [[ -f "$f" ]] && printf '%-28s pid %s\n' "$(basename "$f" .pid)" "$(cat "$f")"
    done
  fi
  k get nodes
  pv_pool_summary
}

pv_pool_summary() {
  k get pv -l "$POOL_LABEL" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | sort | uniq -c
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  kubeconfig) kubeconfig_path ;;
  recycle-pvs) cmd_recycle_pvs ;;
  status) cmd_status ;;
  started-by) started_by ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    die "unknown command '${1:-}' (expected up, down, kubeconfig, recycle-pvs, status or started-by)"
    ;;
esac
