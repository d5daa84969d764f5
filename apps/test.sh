#!/usr/bin/env bash
# Installs what the two apps' tests need and runs both suites.
#
#   bash apps/test.sh            # both apps
#   bash apps/test.sh python     # only apps/python-app
#   bash apps/test.sh js         # only apps/js-app
#   bash apps/test.sh setup      # only install what the tests (and apps/bench.sh) need
#
# Python: a venv in apps/python-app/.venv (gitignored), reinstalled only when
# requirements*.txt or the interpreter change. JS: `npm ci` in apps/js-app,
# rerun only when package-lock.json changes. Exits non-zero if anything fails;
# both suites run even if the first one fails.
set -uo pipefail

APPS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY_DIR="$APPS_DIR/python-app"
JS_DIR="$APPS_DIR/js-app"
PYTHON="${PYTHON:-python3}"
WHICH="${1:-all}"

log() { printf '[apps/test.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

setup_python() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || { log "python-app needs Python >= 3.9 (zoneinfo); $PYTHON is $("$PYTHON" -V 2>&1)"; return 1; }
  local venv="$PY_DIR/.venv" stamp want
  stamp="$venv/.requirements.sha256"
  want="$(hash_of "$PY_DIR/requirements.txt" "$PY_DIR/requirements-dev.txt")-$("$PYTHON" -c 'import sys; print(sys.version)' | tr -d ' \n')"
  if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c '' 2>/dev/null \
     && [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    log "python-app: venv up to date"
    return 0
  fi
  log "python-app: creating venv and installing requirements-dev.txt"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" || return 1
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install -q \
    -r "$PY_DIR/requirements-dev.txt" || return 1
  echo "$want" > "$stamp"
}

setup_js() {
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || { log "js-app needs Node.js >= 20; found $(node --version 2>&1)"; return 1; }
  local stamp="$JS_DIR/node_modules/.lock.sha256" want
  want="$(hash_of "$JS_DIR/package-lock.json")-$(node --version)"
  if [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    log "js-app: node_modules up to date"
    return 0
  fi
  log "js-app: npm ci"
  (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  mkdir -p "$JS_DIR/node_modules" && echo "$want" > "$stamp"
}

PASSED=0
FAILED=0
STATUS=0
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

run_python() {
  local start=$SECONDS rc
  log "python-app: setup"
  setup_python || { log "python-app: setup FAILED"; STATUS=1; return; }
  log "python-app: pytest"
  (cd "$PY_DIR" && .venv/bin/python -m pytest -p no:cacheprovider) 2>&1 | tee "$OUT"
  rc=${PIPESTATUS[0]}
  # pytest's closing line looks like "==== 1 failed, 43 passed in 20.1s ====".
  local counts
  counts="$(awk '/^=+ .* in [0-9.]+s/ { line = $0 }
    END { n = split(line, w, /[ ,]+/); p = 0; f = 0
          for (i = 2; i <= n; i++) {
            if (w[i] == "passed") p += w[i-1]
            if (w[i] == "failed" || w[i] == "error" || w[i] == "errors") f += w[i-1] }
          print p, f }' "$OUT")"
  PASSED=$((PASSED + ${counts% *}))
  FAILED=$((FAILED + ${counts#* }))
  if [[ $rc -ne 0 ]]; then STATUS=1; log "python-app: pytest FAILED (exit $rc)"; fi
  log "python-app: $((SECONDS - start))s"
}

run_js() {
  local start=$SECONDS rc
  log "js-app: setup"
  setup_js || { log "js-app: setup FAILED"; STATUS=1; return; }
  log "js-app: node --test"
  (cd "$JS_DIR" && node --test --test-reporter=spec test/*.test.js) 2>&1 | tee "$OUT"
  rc=${PIPESTATUS[0]}
  PASSED=$((PASSED + $(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$OUT" | tail -1 | grep . || echo 0)))
  FAILED=$((FAILED + $(sed -nE 's/^ℹ fail ([0-9]+)$/\1/p' "$OUT" | tail -1 | grep . || echo 0)))
  if [[ $rc -ne 0 ]]; then STATUS=1; log "js-app: node --test FAILED (exit $rc)"; fi
  log "js-app: $((SECONDS - start))s"
}

case "$WHICH" in
  all) run_python; run_js ;;
  python) run_python ;;
  js) run_js ;;
  setup) setup_python && setup_js; exit ;;
  *) log "usage: $0 [all|python|js|setup]"; exit 2 ;;
esac

if [[ $STATUS -ne 0 && $FAILED -eq 0 ]]; then FAILED=1; fi  # a setup failure counts too
echo "apps: $PASSED passed, $FAILED failed"
exit $STATUS
