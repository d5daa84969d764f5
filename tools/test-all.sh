#!/usr/bin/env bash
# npm run test:all — every test the project has, in order of speed, each phase timed:
# unit tests under Pulumi mocks, helm lint + raw-vs-chart equivalence, workflow lint, the two
# apps' own tests, then the end-to-end suite on a local control plane (e2e/run.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_DIR"
started=$SECONDS

phase "unit tests (npm test)" npm test
phase "tools" "$TOOLS_DIR/setup.sh"
phase "helm lint" helm lint charts/stateful-app --strict -f charts/stateful-app/ci/lint-values.yaml
phase "chart equivalence (npm run test:chart)" npm run test:chart
phase "actionlint" actionlint
phase "apps (npm run test:apps)" bash apps/test.sh
phase "end-to-end (npm run test:e2e)" bash e2e/run.sh
log "all tests passed in $((SECONDS - started))s"
