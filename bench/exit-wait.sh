#!/usr/bin/env bash
# The ~5 s exit wait of a Pulumi command started in the background by a non-interactive shell
# (`pulumi preview &` in a script): such a job starts with SIGINT ignored; the CLI starts the
# language host before it installs its own SIGINT handler, so the host inherits the ignored
# SIGINT (providers, started later, do not); at exit the CLI sends SIGINT to its plugins and kills
# them only after 5 s (sdk/go/common/resource/plugin/plugin.go). A Go host that never asks for
# SIGINT (sdk v3.68.0's) therefore holds every backgrounded command 5 s.
#
# Measures a preview of a program with both providers (a RandomId and a kubernetes Provider; no
# cluster contact needed) started: directly; as `pulumi preview &`; as `(trap - INT; exec pulumi
# preview) &`; with the language host on PATH and, if HOST_DIR is given, with that host
# (e.g. the v3.68.0 one: bench/build-host-v3.68.sh). Writes docs/bench/exit-wait.md.
#
#   bash bench/exit-wait.sh [HOST_DIR [LABEL]]        (env: REPS, default 3)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
other=${1:-}
label=${2:-other host}
reps=${REPS:-3}
out="$PROJECT_DIR/docs/bench/exit-wait.md"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/p" "$dir/state"
printf 'name: exitwait-probe\nruntime:\n  name: nodejs\n' >"$dir/p/Pulumi.yaml"
cat >"$dir/p/index.ts" <<'EOF'
import * as random from "@pulumi/random";
import * as k8s from "@pulumi/kubernetes";
new random.RandomId("probe", { byteLength: 4 });
new k8s.Provider("probe", { kubeconfig: "" });
EOF
printf '{"name":"exitwait-probe","main":"index.ts"}\n' >"$dir/p/package.json"
cp "$PROJECT_DIR/tsconfig.json" "$dir/p/"
ln -s "$PROJECT_DIR/node_modules" "$dir/p/node_modules"
cd "$dir/p"
export PULUMI_BACKEND_URL="file://$dir/state" PULUMI_CONFIG_PASSPHRASE=exit-wait PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_NODEJS_TRANSPILE_ONLY=true NO_COLOR=1
pulumi stack init probe --secrets-provider passphrase --non-interactive >/dev/null

cmd="pulumi preview --stack probe --non-interactive"
# time_it HOSTPATH MODE: wall seconds of one preview started that way (fails on a failed preview).
time_it() {
  local path=$1 mode=$2 s e
  s=$(date +%s%N)
  case $mode in
    direct) PATH="$path" $cmd >/dev/null 2>&1 ;;
    background) PATH="$path" bash -c "$cmd >/dev/null 2>&1 & wait \$!" ;;
    trap) PATH="$path" bash -c "(trap - INT; exec $cmd >/dev/null 2>&1) & wait \$!" ;;
  esac
  e=$(date +%s%N)
  awk -v d=$((e - s)) 'BEGIN { printf "%.2f", d / 1e9 }'
}

hosts=("$PATH")
names=("$(command -v pulumi-language-nodejs) (sha256 $(sha256sum "$(command -v pulumi-language-nodejs)" | cut -c1-16)…)")
if [[ -n "$other" ]]; then
  hosts+=("$other:$PATH")
  names+=("$label: $other/pulumi-language-nodejs (sha256 $(sha256sum "$other/pulumi-language-nodejs" | cut -c1-16)…)")
fi
rows=()
for h in "${!hosts[@]}"; do
  declare -A t=()
  for ((r = 1; r <= reps; r++)); do
    for mode in direct background trap; do # interleaved
      t[$mode]+="$(time_it "${hosts[$h]}" "$mode") "
    done
  done
  med() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "**%.2f s** (%s–%s)", m, a[1], a[NR]}'; }
  rows+=("| ${names[$h]} | $(med "${t[direct]}") | $(med "${t[background]}") | $(med "${t[trap]}") |")
  log "${names[$h]}: direct ${t[direct]}| background ${t[background]}| trap ${t[trap]}"
  unset t
done
mkdir -p "$(dirname "$out")"
{
  echo "# The exit wait of a backgrounded Pulumi command"
  echo
  echo "Measured by \`bash bench/exit-wait.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC; $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); commit \`$(git -C "$PROJECT_DIR" rev-parse --short=12 HEAD)\`; load average $(cut -d' ' -f1-3 /proc/loadavg). $reps interleaved repetitions, median (min–max)."
  echo
  echo "\`pulumi preview\` of a program with both providers (a RandomId and a kubernetes Provider), started from a non-interactive bash:"
  echo
  echo "| language host | \`pulumi preview\` | \`pulumi preview &\` (SIGINT ignored) | \`(trap - INT; exec pulumi preview) &\` |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Why: a background job of a non-interactive shell starts with SIGINT ignored; the CLI starts the language host before installing its own SIGINT handler, so the host inherits the ignored signal (the providers, started later, get the default). At exit the CLI sends SIGINT to each plugin and kills it only after 5 s. A host that asks for SIGINT (signal.Notify) exits at once; \`trap - INT\` before \`exec pulumi\` avoids it with any host."
} >"$out"
log "wrote $out"
