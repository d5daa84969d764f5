#!/usr/bin/env bash
# npm start — the whole thing on this machine, no cluster needed: builds/finds the tools, starts
# the local cluster (control plane + a real node, cluster/cluster.sh), runs `pulumi up` for the
# dev stack into it with the locally built images, and shows the lab working (cluster/lab.sh).
# `npm run stop` tears it all down.
# With E2E_USE_EXISTING_CLUSTER=1 and KUBECONFIG set, it deploys into that cluster instead.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
. "$PROJECT_DIR/cluster/local-env.sh"
# shellcheck source=network.env
. "$PROJECT_DIR/cluster/network.env"   # CLUSTER_NETWORK_POLICY
cd "$PROJECT_DIR"

# Only what this command needs: helm and actionlint are for the tests (the program's Helm mode
# uses the provider's built-in Helm), so a cold start does not wait for them.
policy_engine=()
[[ "$CLUSTER_NETWORK_POLICY" != 1 ]] || policy_engine=(kube-router)
phase "tools" "$TOOLS_DIR/setup.sh" debian etcd kubernetes kubectl kwok containerd coredns pause "${policy_engine[@]}"
# npm ci also installs the policy pack's dependencies (package.json postinstall).
[[ -d node_modules && -d policy/node_modules ]] || phase "npm ci" npm ci --no-audit --no-fund
KUBECONFIG="$(phase "cluster up" "$PROJECT_DIR/cluster/cluster.sh" up)"
export KUBECONFIG
use_local_backend

phase "workspace" npx ts-node --transpile-only cluster/workspace.ts "$LOCAL_WORKSPACE" "$LOCAL_STACK"
cd "$LOCAL_WORKSPACE"
pulumi stack select "$LOCAL_STACK" 2>/dev/null ||
  pulumi stack init "$LOCAL_STACK" --secrets-provider passphrase
# No separate preview: nobody reviews it in a non-interactive `npm start` (--yes), and skipping it
# saves a second run of the program; `pulumi preview` shows the same plan when wanted.
# The policy pack (policy/, README "Policy pack") checks the update as it checks every PR preview.
phase "pulumi up ($LOCAL_STACK)" pulumi up --yes --skip-preview --stack "$LOCAL_STACK" --policy-pack "$PROJECT_DIR/policy"

ns=$(pulumi stack output namespace --stack "$LOCAL_STACK")
echo
echo "== pulumi stack output"
pulumi stack output --stack "$LOCAL_STACK"
"$PROJECT_DIR/cluster/lab.sh" "$ns"
cat <<TXT

Look around:
  export KUBECONFIG=$KUBECONFIG
  kubectl get po,sts,svc,pvc -n $ns -o wide
  cd $LOCAL_WORKSPACE && PULUMI_HOME=$PULUMI_HOME PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE=$PULUMI_CONFIG_PASSPHRASE $TOOLS_BIN/pulumi stack output --show-secrets
Tear down:  npm run stop        (pulumi destroy, then the local cluster; the machine is restored)
TXT
