// Command pulumi-resource-random serves the bridged random provider. schema-embed.json
// is generated at build time by tools/setup-pulumi.sh (pulumi-tfgen-random schema,
// minified); the committed file is an empty placeholder.
package main

import (
	"context"
	_ "embed"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"stateful-apps/tools/pulumi-resource-random/randomprovider"
)

//go:embed schema-embed.json
var schema []byte

func main() {
	pftfbridge.Main(context.Background(), "random", randomprovider.Provider(),
		pftfbridge.ProviderMetadata{PackageSchema: schema})
}
