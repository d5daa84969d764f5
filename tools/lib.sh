# Shared helpers for tools/*.sh and e2e/*.sh. Source it; it sets no shell options.
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(cd "$TOOLS_DIR/.." && pwd)"
# shellcheck source=versions.env
. "$TOOLS_DIR/versions.env"

# Everything built or downloaded lives outside the repo so a second run is fast.
STATEFUL_APPS_CACHE="${STATEFUL_APPS_CACHE:-$HOME/.cache/stateful-apps}"
TOOLS_BIN="$STATEFUL_APPS_CACHE/bin"
mkdir -p "$TOOLS_BIN"
# The project's Pulumi home: its plugin cache holds the providers built here (one of them from a
# different source than its version label says), so they must never land in the user's own
# ~/.pulumi, where every other Pulumi project of theirs would pick them up.
export PULUMI_HOME="$STATEFUL_APPS_CACHE/pulumi-home"
case ":$PATH:" in *":$TOOLS_BIN:"*) ;; *) PATH="$TOOLS_BIN:$PATH"; export PATH ;; esac

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# phase NAME CMD...: runs CMD and prints how long it took.
phase() {
  local name=$1; shift
  local start=$SECONDS
  log "── $name"
  "$@"
  local rc=$?
  log "── $name: $((SECONDS - start))s (exit $rc)"
  return $rc
}

# fill_template FILE: FILE with every __NAME__ replaced by the value of the shell variable NAME
# (dies naming the placeholder when a variable is unset).
fill_template() {
  local text name
  text=$(<"$1")
  while [[ "$text" =~ __([A-Z][A-Z0-9_]*[A-Z0-9])__ ]]; do
    name=${BASH_REMATCH[1]}
    [[ -n "${!name+x}" ]] || die "$1: no value for __${name}__"
    text=${text//__${name}__/${!name}}
  done
  printf '%s\n' "$text"
}
