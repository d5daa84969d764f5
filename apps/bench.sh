#!/usr/bin/env bash
# The apps' write-path benchmark in one command: installs what the apps need
# (as apps/test.sh does, skipped when up to date), then runs apps/bench.mjs.
#
#   bash apps/bench.sh                         # both apps, 6 rounds of 2 s per path
#   bash apps/bench.sh --apps js --rounds 5    # options: node apps/bench.mjs --help
set -euo pipefail
APPS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$APPS_DIR/test.sh" setup
exec node "$APPS_DIR/bench.mjs" "$@"
