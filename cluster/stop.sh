#!/usr/bin/env bash
# npm run stop — destroys what `npm start` deployed (no pod left running; PVCs and namespace are
# retained by design, and go with the cluster), then stops the local cluster and restores the
# machine (cluster/node.sh down). The cluster is torn down whatever happened before: a failed
# destroy or stack removal is reported, and makes the command fail, only after the teardown.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
. "$PROJECT_DIR/cluster/local-env.sh"

# Resources of the stack other than the stack itself and its providers: what a destroy would delete.
deployed_resources() {
  pulumi stack export --stack "$LOCAL_STACK" |
    node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")).deployment??{};
      console.log((d.resources??[]).filter(r=>r.type!=="pulumi:pulumi:Stack"&&!r.type.startsWith("pulumi:providers:")).length)'
}

destroy_stack() {
  use_local_cluster
  cd "$LOCAL_WORKSPACE"
  pulumi stack select "$LOCAL_STACK" 2>/dev/null || return 0
  local left
  left=$(deployed_resources) || return 1
  # An empty stack (e.g. after a manual `pulumi destroy`) is not destroyed again: running the
  # program would only register its resources anew.
  if [[ "$left" != 0 ]]; then
    phase "pulumi destroy ($LOCAL_STACK)" pulumi destroy --yes --skip-preview --run-program --stack "$LOCAL_STACK" || return 1
  else
    log "stack $LOCAL_STACK has no resources left: nothing to destroy"
  fi
  pulumi stack rm --yes --stack "$LOCAL_STACK" >/dev/null || return 1
  rm -rf "${PULUMI_BACKEND_URL#file://}"
}

failed=""
if [[ -d "$LOCAL_WORKSPACE" ]] && KUBECONFIG="$("$PROJECT_DIR/cluster/cluster.sh" kubeconfig)" &&
  kubectl --kubeconfig "$KUBECONFIG" get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
  (destroy_stack) || failed="pulumi destroy / stack rm of $LOCAL_STACK failed (state kept in $LOCAL_WORKSPACE; see above)"
fi
cd "$PROJECT_DIR"
phase "cluster down" "$PROJECT_DIR/cluster/cluster.sh" down
[[ -z "$failed" ]] || die "$failed; the cluster was torn down anyway"
