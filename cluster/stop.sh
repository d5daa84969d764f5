#!/usr/bin/env bash
# npm run stop — destroys what `npm start` deployed (no pod left running; PVCs and namespace are
# retained by design, and go with the cluster), then stops the local cluster and restores the
# machine (cluster/node.sh down).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
. "$PROJECT_DIR/cluster/local-env.sh"
if [[ -d "$LOCAL_WORKSPACE" ]] && KUBECONFIG="$("$PROJECT_DIR/cluster/cluster.sh" kubeconfig)" &&
  kubectl --kubeconfig "$KUBECONFIG" get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
  export KUBECONFIG
  use_local_backend
  cd "$LOCAL_WORKSPACE"
  if pulumi stack select "$LOCAL_STACK" 2>/dev/null; then
    phase "pulumi destroy ($LOCAL_STACK)" pulumi destroy --yes --skip-preview --run-program --stack "$LOCAL_STACK"
    pulumi stack rm --yes --stack "$LOCAL_STACK" >/dev/null
  fi
  cd "$PROJECT_DIR"
  rm -rf "${PULUMI_BACKEND_URL#file://}"
fi
phase "cluster down" "$PROJECT_DIR/cluster/cluster.sh" down
