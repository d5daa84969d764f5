// Package randomprovider maps the Terraform random provider onto the Pulumi
// package "random", with the same tokens as the @pulumi/random SDK
// (random:index/randomPassword:RandomPassword, ...).
package randomprovider

import (
	"context"
	_ "embed"
	"errors"
	"unicode"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is set at link time: -X stateful-apps/tools/pulumi-resource-random/randomprovider.Version=X.Y.Z
var Version string

// bridge-metadata.json is written by `pulumi-tfgen-random schema` at build time
// (tools/setup-pulumi.sh); the committed file is an empty placeholder.
//
//go:embed bridge-metadata.json
var bridgeMetadata []byte

// resourceToken returns random:index/<lowerCamel>:<Name>.
func resourceToken(name string) tokens.Type {
	file := string(unicode.ToLower(rune(name[0]))) + name[1:]
	return tokens.Type("random:index/" + file + ":" + name)
}

// bytesID: random_bytes has no "id" attribute; use its base64 value, as upstream does.
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	v, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes: no base64 property in state")
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return "", errors.New("random_bytes: base64 property is not a string")
	}
	return resource.ID(v.StringValue()), nil
}

// Provider describes the bridged provider.
func Provider() tfbridge.ProviderInfo {
	return tfbridge.ProviderInfo{
		Name:        "random",
		P:           pftfbridge.ShimProvider(shim.NewProvider()),
		Version:     Version,
		Description: "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:    []string{"pulumi", "random"},
		License:     "Apache-2.0",
		Homepage:    "https://pulumi.io",
		Repository:  "https://github.com/pulumi/pulumi-random",
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_bytes":    {Tok: resourceToken("RandomBytes"), ComputeID: bytesID},
			"random_id":       {Tok: resourceToken("RandomId")},
			"random_integer":  {Tok: resourceToken("RandomInteger")},
			"random_password": {Tok: resourceToken("RandomPassword")},
			"random_pet":      {Tok: resourceToken("RandomPet")},
			"random_shuffle":  {Tok: resourceToken("RandomShuffle")},
			"random_string":   {Tok: resourceToken("RandomString")},
			"random_uuid":     {Tok: resourceToken("RandomUuid")},
			"random_uuid4":    {Tok: resourceToken("RandomUuid4")},
			"random_uuid7":    {Tok: resourceToken("RandomUuid7")},
		},
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
	}
}
