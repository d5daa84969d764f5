// Command pulumi-tfgen-random generates the Pulumi schema (schema.json,
// bridge-metadata.json) of the bridged random provider: `pulumi-tfgen-random schema --out DIR`.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"stateful-apps/tools/pulumi-resource-random/randomprovider"
)

func main() {
	tfgen.Main("random", randomprovider.Provider())
}
