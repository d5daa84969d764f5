//go:build tools

// Package tools pins the commands this module builds so that `go mod tidy` keeps their
// dependencies in go.sum; tools/setup-cluster-tools.sh builds them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"    // the local cluster's real node
	_ "k8s.io/kubernetes/cmd/kube-proxy" // the local cluster's real node
	_ "k8s.io/kubernetes/cmd/kubectl" // built only with BUILD_KUBECTL=1 or when none is on PATH
)
