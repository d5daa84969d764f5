// The pod sandbox ("pause") process for the local node's containerd: no image can be pulled
// here, so registry.k8s.io/pause is replaced by this program in a FROM-scratch image.
module stateful-apps/tools/pause

go 1.26.0
