#!/usr/bin/env bash
# npm run test:all — every test the project has, in order of speed, each phase timed:
# unit tests under Pulumi mocks, helm lint + raw-vs-chart equivalence, workflow lint, the two
# apps' own tests, then the end-to-end suite on a local control plane (e2e/run.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_DIR"
started=$SECONDS
# The user's own Pulumi home must come out of the whole run exactly as it went in.
user_pulumi() { { find "$HOME/.pulumi" -printf '%p %s %T@\n' 2>/dev/null || true; } | LC_ALL=C sort | sha256sum; }
user_pulumi_before=$(user_pulumi)

phase "type-check (npm run build: tsc --noEmit --noCheck false)" npm run build
phase "unit tests (npm test)" npm test
phase "tools" "$TOOLS_DIR/setup.sh"
phase "toolchain isolation (scratch HOME)" bash "$TOOLS_DIR/test-isolation.sh"
phase "fault: a nearly full cache directory" bash "$TOOLS_DIR/test-disk-full.sh"
phase "helm lint" helm lint charts/stateful-app --strict -f charts/stateful-app/ci/lint-values.yaml
phase "chart equivalence (npm run test:chart)" npm run test:chart
phase "actionlint" actionlint
phase "apps (npm run test:apps)" bash apps/test.sh
phase "end-to-end (npm run test:e2e)" bash e2e/run.sh
# After the suite: npm start's cluster is the same local cluster, so the two never overlap.
phase "lifecycle faults (npm start interrupted by SIGINT/SIGTERM, npm start twice, test:e2e over a running cluster, killed node and control-plane processes, stop after a manual destroy)" bash cluster/tests/lifecycle-faults.sh
[[ "$(user_pulumi)" == "$user_pulumi_before" ]] || die "the run changed $HOME/.pulumi (the user's own Pulumi home)"
log "all tests passed in $((SECONDS - started))s"
