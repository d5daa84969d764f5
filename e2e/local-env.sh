# Sourced by e2e/start.sh and e2e/stop.sh: where `npm start` keeps its Pulumi workspace.
# The workspace links to this checkout's program and chart, so edits take effect on the next
# `npm start`, but keeps its own Pulumi.dev.yaml (with its encryption salt) and a local file
# backend, so the committed Pulumi.dev.yaml is never modified.
LOCAL_WORKSPACE="$STATEFUL_APPS_CACHE/local/workspace"
export PULUMI_BACKEND_URL="file://$STATEFUL_APPS_CACHE/local/state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-local-dev-only}"
export PULUMI_SKIP_UPDATE_CHECK=true
LOCAL_STACK=dev
