// Package shim exposes the upstream Terraform random provider (an internal package)
// to the Pulumi bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	randomprovider "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the Terraform Plugin Framework random provider.
func NewProvider() provider.Provider {
	return randomprovider.New()
}
