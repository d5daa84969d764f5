#!/usr/bin/env bash
# npm run stop — destroys what `npm start` deployed and stops the local cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
. "$PROJECT_DIR/e2e/local-env.sh"
if [[ -d "$LOCAL_WORKSPACE" ]] && "$PROJECT_DIR/e2e/cluster.sh" kubeconfig >/dev/null 2>&1; then
  KUBECONFIG="$("$PROJECT_DIR/e2e/cluster.sh" kubeconfig)"
  export KUBECONFIG
  (cd "$LOCAL_WORKSPACE" && pulumi destroy --yes --stack "$LOCAL_STACK" && pulumi stack rm --yes --stack "$LOCAL_STACK") || true
  rm -rf "$STATEFUL_APPS_CACHE/local"
fi
"$PROJECT_DIR/e2e/cluster.sh" down
