// Command coredns is CoreDNS with the plugins that cluster/manifests/coredns.yaml's Corefile
// uses and nothing else: no forward/proxy plugin is linked, so it cannot send a query upstream.
package main

import (
	"github.com/coredns/coredns/coremain"

	// Plugins register themselves in init; the server orders them by CoreDNS's own directive list.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() { coremain.Run() }
