# Sourced by cluster/start.sh and cluster/stop.sh: where `npm start` keeps its Pulumi workspace
# (cluster/workspace.ts: links to this checkout's program, its own Pulumi.dev.yaml with its salt
# and the locally built images) and its state.
LOCAL_WORKSPACE="$STATEFUL_APPS_CACHE/local/workspace"
LOCAL_STACK=dev
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-local-dev-only}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# use_local_backend: the state of the cluster in $KUBECONFIG, keyed by its identity (the UID of
# its kube-system namespace). A re-created cluster gets a new, empty state, so `pulumi up` never
# trusts a state describing resources of a cluster that no longer exists.
use_local_backend() {
  local uid
  uid=$(kubectl get namespace kube-system -o jsonpath='{.metadata.uid}') || die "cannot read the cluster's identity"
  [[ -n "$uid" ]] || die "the cluster's kube-system namespace has no UID"
  export PULUMI_BACKEND_URL="file://$STATEFUL_APPS_CACHE/local/state/$uid"
  mkdir -p "${PULUMI_BACKEND_URL#file://}"
}

# use_local_cluster: the running local cluster's kubeconfig and its state (use_local_backend).
use_local_cluster() {
  KUBECONFIG="$("$PROJECT_DIR/cluster/cluster.sh" kubeconfig)" || die "no local cluster kubeconfig"
  export KUBECONFIG
  use_local_backend
}
