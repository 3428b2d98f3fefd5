//go:build tools

// Package tools pins the command this wrapper module builds, so `go mod tidy` keeps its
// dependencies in go.sum.
package tools

import _ "istio.io/istio/istioctl/cmd/istioctl"
