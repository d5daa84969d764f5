#!/usr/bin/env bash
# Installs everything cluster/cluster.sh needs into $TOOLS_BIN ($HOME/.cache/stateful-apps/bin):
#   etcd                        built from go.etcd.io/etcd/server/v3 (tools/go/etcd)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy
#                               built from k8s.io/kubernetes (wrapper module tools/go/kubernetes)
#   containerd, containerd-shim-runc-v2, ctr
#                               built from github.com/containerd/containerd/v2 (tools/go/containerd)
#   coredns                     a slim CoreDNS built from github.com/coredns/coredns (tools/go/coredns)
#   pause                       the pod sandbox process (tools/go/pause, our own 30 lines)
#   sized-volumes               the node's provisioner + resizer of StorageClass "sized" (tools/go/sized-volumes,
#                               ours, on sigs.k8s.io/sig-storage-lib-external-provisioner)
#   debian                      runc, iptables, CNI plugins, buildah, mmdebstrap, conntrack, socat, xfsprogs, ipset
#                               from Debian's packages (apt-get), pinned in versions.env
#   kwok, kwokctl               built from sigs.k8s.io/kwok (tools/go/kwok)
#   helm                        built from helm.sh/helm/v3 (tools/go/helm)
#   actionlint                  built from github.com/rhysd/actionlint (tools/go/actionlint)
#   kube-router                 built from github.com/cloudnativelabs/kube-router/v2 (tools/go/kube-router):
#                               the local cluster's NetworkPolicy engine (cluster/network-policy.sh)
#   kubectl                     the one on PATH is used; built from k8s.io/kubernetes (same
#                               wrapper) only if there is none, or with BUILD_KUBECTL=1
#
# Idempotent: every tool has a stamp (tools/lib.sh: what it was built from); a tool whose binaries
# and stamp are current is skipped, so a second run takes about a second and never calls `go`.
#
# Usage: tools/setup-cluster-tools.sh [TOOL...]     (default: all; names as listed above,
#                                                    "kubernetes" = the control-plane and node binaries;
#                                                    "node" = containerd coredns pause sized-volumes debian)
# Env:   FORCE=1          rebuild even if current
#        BUILD_KUBECTL=1  build kubectl v$KUBERNETES_VERSION even though one is on PATH
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

go_env

# ---------------------------------------------------------------------------------------------
# on_path_at_version NAME WANT ARGS...: true if a NAME outside $TOOLS_BIN is on PATH and the
# output of `NAME ARGS...` contains WANT; then that one is used instead of building another.
on_path_at_version() {
  local name=$1 want=$2; shift 2
  local p
  p=$(PATH=${PATH//"$TOOLS_BIN:"/} command -v "$name" 2>/dev/null) || return 1
  local out line
  # Output captured first: grep -m1 on a pipe can SIGPIPE the tool, failing under pipefail.
  out=$("$p" "$@" 2>/dev/null) || true
  line=$(grep -F -m1 -- "$want" <<<"$out") || return 1
  log "$name: using $p from PATH ($line)"
}

# ---------------------------------------------------------------------------------------------
# etcd, built from go.etcd.io/etcd/server/v3 (tools/go/etcd pins the version).
# Not Debian's etcd-server package (3.4.23): it lacks the watch-progress requests the API server
# needs to serve watch-list streams (etcd >= 3.4.31/3.5.13), so client-go 0.36 reflectors in kwok
# fail their watches and re-list on a back-off; simulated pods then take 10-40 s to turn Ready.

install_etcd() {
  local v ld want
  v=$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" {print $3}' "$GO_WRAPPERS/etcd/go.mod")
  [[ "$v" == "v$ETCD_VERSION" ]] ||
    die "tools/go/etcd/go.mod requires go.etcd.io/etcd/server/v3 '$v', not v$ETCD_VERSION (versions.env)"
  ld="-X go.etcd.io/etcd/api/v3/version.GitSHA=$v"
  want=$(stamp_value etcd etcd "version=$v ldflags=$ld")
  if is_current etcd "$want" etcd; then
    log "etcd: up to date ($v)"
    return 0
  fi
  # The module's root package is etcd's main package; `go build` names that binary "server".
  phase "build etcd" go_build_into --rename server=etcd "$GO_WRAPPERS/etcd" "$ld" go.etcd.io/etcd/server/v3
  local got
  got=$("$TOOLS_BIN/etcd" --version)
  got=${got%%$'\n'*}
  [[ "$got" == "etcd Version: ${v#v}" ]] || die "etcd --version says '$got', expected 'etcd Version: ${v#v}'"
  write_stamp etcd "$want"
}

# ---------------------------------------------------------------------------------------------
# Kubernetes control plane (+ kubectl when needed), one `go build` for all binaries.

kube_ldflags() {
  # What hack/lib/version.sh sets; kwokctl reads `kube-apiserver --version` to pick its flags.
  local v="v$KUBERNETES_VERSION" major minor ld="" p
  major=${KUBERNETES_VERSION%%.*}
  minor=${KUBERNETES_VERSION#*.}; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$ld"
}

install_kubernetes() {
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
  local ld want
  ld=$(kube_ldflags)
  want=$(stamp_value kubernetes kubernetes "version=$KUBERNETES_VERSION ldflags=$ld")
  if is_current kubernetes "$want" "${bins[@]}"; then
    log "kubernetes: up to date (${bins[*]} v$KUBERNETES_VERSION)"
    return 0
  fi
  grep -q "k8s.io/kubernetes v$KUBERNETES_VERSION\$" "$GO_WRAPPERS/kubernetes/go.mod" ||
    die "tools/go/kubernetes/go.mod does not require k8s.io/kubernetes v$KUBERNETES_VERSION (versions.env); update the wrapper (require + replace lines) and run go mod tidy there"
  log "kubernetes: building ${bins[*]} v$KUBERNETES_VERSION (the slow one: about 7 min on 2 idle cores when cold)"
  phase "build kubernetes" go_build_into "$GO_WRAPPERS/kubernetes" "$ld" "${bins[@]/#/k8s.io/kubernetes/cmd/}"
  local got
  got=$("$TOOLS_BIN/kube-apiserver" --version)
  [[ "$got" == "Kubernetes v$KUBERNETES_VERSION" ]] || die "kube-apiserver --version says '$got', expected 'Kubernetes v$KUBERNETES_VERSION'"
  write_stamp kubernetes "$want"
}

# kubectl: the one on PATH (the base image's, v1.32) is used. It is outside the +-1 minor skew
# that Kubernetes supports for 1.36, but everything the e2e scripts do with it (get, create,
# apply, patch, delete --cascade=orphan, wait, rollout status, jsonpath output) works; only
# `kubectl version` prints a skew warning. With none on PATH, or BUILD_KUBECTL=1, kubectl
# v$KUBERNETES_VERSION is built from the same wrapper module (sharing its compiled packages).
install_kubectl() {
  local ld want
  ld=$(kube_ldflags)
  want=$(stamp_value kubectl kubernetes "version=$KUBERNETES_VERSION ldflags=$ld")
  if is_current kubectl "$want" kubectl; then
    log "kubectl: up to date (v$KUBERNETES_VERSION in $TOOLS_BIN)"
    return 0
  fi
  if [[ "${BUILD_KUBECTL:-0}" != 1 ]] && on_path_at_version kubectl "Client Version: v1." version --client; then
    return 0
  fi
  phase "build kubectl" go_build_into "$GO_WRAPPERS/kubernetes" "$ld" k8s.io/kubernetes/cmd/kubectl
  write_stamp kubectl "$want"
}

# ---------------------------------------------------------------------------------------------

install_kwok() {
  local ld="-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v$KUBERNETES_VERSION"
  local want
  want=$(stamp_value kwok kwok "version=$KWOK_VERSION ldflags=$ld")
  if is_current kwok "$want" kwok kwokctl; then
    log "kwok: up to date (kwok, kwokctl v$KWOK_VERSION)"
    return 0
  fi
  grep -q "sigs.k8s.io/kwok v$KWOK_VERSION\$" "$GO_WRAPPERS/kwok/go.mod" ||
    die "tools/go/kwok/go.mod does not require sigs.k8s.io/kwok v$KWOK_VERSION (versions.env)"
  phase "build kwok" go_build_into "$GO_WRAPPERS/kwok" "$ld" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  write_stamp kwok "$want"
}

install_helm() {
  # As helm's Makefile: version, and the Kubernetes version that `helm template`/`helm lint`
  # assume (.Capabilities.KubeVersion) derived from the client-go it is built with.
  local cg major minor ld want
  cg=$(awk '$1 == "k8s.io/client-go" {print $2}' "$GO_WRAPPERS/helm/go.mod")
  [[ "$cg" =~ ^v0\.([0-9]+)\. ]] || die "helm: cannot read the k8s.io/client-go version from tools/go/helm/go.mod"
  major=1 minor=${BASH_REMATCH[1]}
  ld="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  want=$(stamp_value helm helm "version=$HELM_VERSION ldflags=$ld")
  if is_current helm "$want" helm; then
    log "helm: up to date (v$HELM_VERSION)"
    return 0
  fi
  on_path_at_version helm "v$HELM_VERSION" version --short && return 0
  grep -q "helm.sh/helm/v3 v$HELM_VERSION\$" "$GO_WRAPPERS/helm/go.mod" ||
    die "tools/go/helm/go.mod does not require helm.sh/helm/v3 v$HELM_VERSION (versions.env)"
  phase "build helm" go_build_into "$GO_WRAPPERS/helm" "$ld" helm.sh/helm/v3/cmd/helm
  write_stamp helm "$want"
}

install_actionlint() {
  local want
  want=$(stamp_value actionlint actionlint "version=$ACTIONLINT_VERSION")
  if is_current actionlint "$want" actionlint; then
    log "actionlint: up to date (v$ACTIONLINT_VERSION)"
    return 0
  fi
  on_path_at_version actionlint "$ACTIONLINT_VERSION" -version && return 0
  grep -q "github.com/rhysd/actionlint v$ACTIONLINT_VERSION\$" "$GO_WRAPPERS/actionlint/go.mod" ||
    die "tools/go/actionlint/go.mod does not require github.com/rhysd/actionlint v$ACTIONLINT_VERSION (versions.env)"
  # actionlint reads its version from the module build info, so no -X is needed.
  phase "build actionlint" go_build_into "$GO_WRAPPERS/actionlint" "" github.com/rhysd/actionlint/cmd/actionlint
  write_stamp actionlint "$want"
}

install_kube_router() {
  local ld want
  ld="-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION"
  want=$(stamp_value kube-router kube-router "version=$KUBE_ROUTER_VERSION ldflags=$ld")
  if is_current kube-router "$want" kube-router; then
    log "kube-router: up to date (v$KUBE_ROUTER_VERSION)"
    return 0
  fi
  wrapper_requires kube-router github.com/cloudnativelabs/kube-router/v2 "v$KUBE_ROUTER_VERSION"
  phase "build kube-router" go_build_into "$GO_WRAPPERS/kube-router" "$ld" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
  write_stamp kube-router "$want"
}

# ---------------------------------------------------------------------------------------------
# The real node's runtime: containerd, CoreDNS, the pause process, and Debian's packages.

# wrapper_requires WRAPPER MODULE VERSION: dies unless the wrapper's go.mod requires MODULE VERSION.
wrapper_requires() {
  grep -q "^require $2 $3\$\|^[[:space:]]$2 $3\$" "$GO_WRAPPERS/$1/go.mod" ||
    die "tools/go/$1/go.mod does not require $2 $3 (versions.env); update it and run go mod tidy there"
}

install_containerd() {
  local mod=github.com/containerd/containerd/v2 bins=(containerd containerd-shim-runc-v2 ctr)
  local ld="-X $mod/version.Version=v$CONTAINERD_VERSION" want
  want=$(stamp_value containerd containerd "version=$CONTAINERD_VERSION ldflags=$ld")
  if is_current containerd "$want" "${bins[@]}"; then
    log "containerd: up to date (v$CONTAINERD_VERSION)"
    return 0
  fi
  wrapper_requires containerd "$mod" "v$CONTAINERD_VERSION"
  # no_btrfs: the btrfs snapshotter needs cgo headers; the node uses overlayfs.
  phase "build containerd" go_build_into "$GO_WRAPPERS/containerd" "$ld" -tags no_btrfs "${bins[@]/#/$mod/cmd/}"
  write_stamp containerd "$want"
}

# install_main_package NAME LABEL: a wrapper whose own main.go is the command (tools/go/NAME).
install_main_package() {
  local name=$1 label=$2 want
  want=$(stamp_value "$name" "$name" "$label")
  if is_current "$name" "$want" "$name"; then
    log "$name: up to date ($label)"
    return 0
  fi
  phase "build $name" go_build_into "$GO_WRAPPERS/$name" "" .
  write_stamp "$name" "$want"
}

install_coredns() {
  wrapper_requires coredns github.com/coredns/coredns "v$COREDNS_VERSION"
  install_main_package coredns "v$COREDNS_VERSION, slim"
}

install_pause() { install_main_package pause "the pod sandbox process"; }

install_sized_volumes() { install_main_package sized-volumes "the node's volume provisioner and resizer"; }

# Debian packages, pinned; apt-get update only when one is missing or at another version.
install_debian() {
  local p name ver missing=() have
  for p in $DEBIAN_NODE_PACKAGES; do
    name=${p%%=*} ver=${p#*=}
    have=$(dpkg-query -W -f '${Status} ${Version}' "$name" 2>/dev/null || true)
    [[ "$have" == "install ok installed $ver" ]] || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "debian packages: up to date (${DEBIAN_NODE_PACKAGES// /, })"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${missing[*]} by hand"
  [[ $(id -u) == 0 ]] || die "installing ${missing[*]} needs root (apt-get)"
  log "debian packages: installing ${missing[*]}"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends -o Dpkg::Use-Pty=0)
  apt-get update -q >/dev/null || die "apt-get update failed"
  if ! "${apt[@]}" install "${missing[@]}" >/dev/null; then
    log "warning: the pinned versions are not all on the mirror any more; installing its current ones"
    "${apt[@]}" install "${missing[@]%%=*}" >/dev/null || die "apt-get install ${missing[*]%%=*} failed"
  fi
  if dpkg-query -W crun >/dev/null 2>&1; then
    log "warning: crun is installed; the node and image builds name runc explicitly (crun refuses hybrid cgroups)"
  fi
}

# ---------------------------------------------------------------------------------------------

main() {
  local tools=("$@") t
  [[ ${#tools[@]} -gt 0 ]] || tools=(debian etcd kubernetes kubectl kwok helm actionlint containerd coredns pause sized-volumes kube-router)
  local start=$SECONDS
  for t in "${tools[@]}"; do
    case "$t" in
      etcd) phase "etcd" install_etcd ;;
      kubernetes | kube-apiserver | kube-controller-manager | kube-scheduler) phase "kubernetes" install_kubernetes ;;
      kubectl) phase "kubectl" install_kubectl ;;
      kwok | kwokctl) phase "kwok" install_kwok ;;
      helm) phase "helm" install_helm ;;
      actionlint) phase "actionlint" install_actionlint ;;
      kube-router) phase "kube-router" install_kube_router ;;
      containerd | ctr) phase "containerd" install_containerd ;;
      coredns) phase "coredns" install_coredns ;;
      pause) phase "pause" install_pause ;;
      sized-volumes) phase "sized-volumes" install_sized_volumes ;;
      debian) phase "debian packages" install_debian ;;
      node) main containerd coredns pause sized-volumes debian ;;
      *) die "unknown tool '$t' (known: etcd kubernetes kubectl kwok helm actionlint kube-router containerd coredns pause sized-volumes debian node)" ;;
    esac
  done
  log "cluster tools ready in $TOOLS_BIN ($((SECONDS - start))s total)"
}

main "$@"
