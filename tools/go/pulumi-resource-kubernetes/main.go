// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider
// (github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider). It replaces the
// upstream cmd/pulumi-resource-kubernetes, whose go:embed'ed files are generated and
// therefore missing from the module zip: tools/setup-pulumi.sh copies this package into
// its build cache and writes schema-embed.json / terraform-mapping-embed.json next to it
// (see embedgen.go), from the schema.json / terraform-mapping.json that the module ships.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
