package providers

import (
	"fmt"
	"slices"
)

// Registry holds the drivers a server knows, by name. It is built once at
// start-up and read-only afterwards.
type Registry struct {
	byName map[string]Driver
	names  []string
}

// NewRegistry returns a registry of drivers. Two drivers with one name panic:
// that is a programming error caught by the first test that builds it.
func NewRegistry(drivers ...Driver) *Registry {
	r := &Registry{byName: make(map[string]Driver, len(drivers))}
	for _, d := range drivers {
		if _, dup := r.byName[d.Name()]; dup {
			panic(fmt.Sprintf("providers: driver %q registered twice", d.Name()))
		}
		r.byName[d.Name()] = d
		r.names = append(r.names, d.Name())
	}
	return r
}

// Get returns the named driver.
func (r *Registry) Get(name string) (Driver, bool) {
	d, ok := r.byName[name]
	return d, ok
}

// Names returns every registered provider name in registration order.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Specs returns every driver's spec in registration order.
func (r *Registry) Specs() []Spec {
	out := make([]Spec, 0, len(r.names))
	for _, n := range r.names {
		out = append(out, r.byName[n].Spec())
	}
	return out
}
