#!/usr/bin/env python3
"""How much Go source the toolchain compiles, and how much one shared build cache could save.

Issue #18 §4 asks whether aligning module versions across the wrappers in tools/go/ would let
their builds share compiled packages. Go's build cache reuses a package only when it, its module
version and (transitively) every package it imports are identical, so a package shared by import
path but reached through another version of, say, golang.org/x/net is compiled twice. This script
lists every non-standard package each build compiles (`go list -deps`, offline: the module cache
must be warm, as after tools/setup.sh), and reports, weighted by Go source bytes:
  - what is compiled today (distinct cache units over all builds);
  - what would be if the module families named in ALIGN had one version in every build;
  - the floor: every shared package at one version (not reachable: the provider pins its own
    Pulumi and Kubernetes libraries).
Run from the project: python3 bench/go-build-overlap.py [ALIGN_PREFIX...]
The build targets below are those of tools/setup-pulumi.sh and tools/setup-cluster-tools.sh
(pulumi-resource-random is built from its module's own directory, not a wrapper: left out).
"""
import hashlib
import os
import subprocess
import sys

WRAPPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "go")
K8S_CMDS = [f"k8s.io/kubernetes/cmd/{b}" for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")]
BUILDS = {
    "pulumi": ["-tags", "osusergo,grpcnotrace", "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"],
    "pulumi-language-nodejs": ["."],
    "pulumi-resource-kubernetes": ["."],
    "kubernetes": K8S_CMDS,
    "kwok": ["sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"],
    "sized-volumes": ["."],
    "kube-router": ["github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"],
    "helm": ["helm.sh/helm/v3/cmd/helm"],
}
FORMAT = "{{if not .Standard}}{{.ImportPath}}|{{if .Module}}{{.Module.Path}}@{{.Module.Version}}{{end}}|{{join .Imports \",\"}}|{{.Dir}}|{{join .GoFiles \",\"}}{{end}}"


def packages(wrapper, args):
    """{import path: (module@version, imports, Go source bytes)} of one build."""
    env = dict(os.environ, GOPROXY="off", GOFLAGS="-mod=mod")
    out = subprocess.run(["go", "list", "-e", "-deps", "-f", FORMAT, *args], cwd=os.path.join(WRAPPERS, wrapper),
                         env=env, capture_output=True, text=True).stdout
    pkgs = {}
    for line in out.splitlines():
        path, module, imports, directory, files = line.split("|")
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in files.split(",") if f and os.path.exists(os.path.join(directory, f)))
        pkgs[path] = (module, [i for i in imports.split(",") if i], size)
    return pkgs


def compiled_bytes(builds, align=()):
    """Source bytes of the distinct cache units over all builds (a unit: a package, its module version, its deps' units)."""
    units = {}
    for pkgs in builds.values():
        memo = {}

        def unit(path):
            if path not in memo:
                memo[path] = "cycle"
                module, imports, _ = pkgs[path]
                if any(module.startswith(a) for a in align):
                    module = module.split("@")[0]
                memo[path] = hashlib.sha1((path + module + "".join(sorted(unit(i) for i in imports if i in pkgs))).encode()).hexdigest()
            return memo[path]
        for path, (_, _, size) in pkgs.items():
            units[unit(path)] = size
    return sum(units.values())


def main():
    align = sys.argv[1:]
    builds = {name: packages(name, args) for name, args in BUILDS.items()}
    mb = lambda b: f"{b / 1e6:.0f} MB"
    for name, pkgs in builds.items():
        print(f"{name}: {len(pkgs)} packages, {mb(sum(s for _, _, s in pkgs.values()))} of Go source")
    floor = {}
    for pkgs in builds.values():
        for path, (_, _, size) in pkgs.items():
            floor[path] = size
    print(f"summed over the builds: {mb(sum(s for p in builds.values() for _, _, s in p.values()))}")
    print(f"compiled today (distinct cache units): {mb(compiled_bytes(builds))}")
    if align:
        print(f"with one version of {', '.join(align)}: {mb(compiled_bytes(builds, align))}")
    print(f"floor (every shared package at one version): {mb(sum(floor.values()))}")


if __name__ == "__main__":
    main()
