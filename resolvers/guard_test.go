package resolvers

import (
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// guarded holds the tests' netguard client and dialer (private networks
// allowed): a Config has no unguarded fallback, so a Resolver whose drivers
// reach a server needs them.
var guarded = providertest.Guarded(providers.Config{})
