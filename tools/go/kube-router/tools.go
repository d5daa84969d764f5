//go:build tools

// Package tools pins the command this module builds so that `go mod tidy` keeps its
// dependencies in go.sum.
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
