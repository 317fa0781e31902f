package providers

// The capabilities a provider advertises.
const (
	CapVerify = "verify"
	CapFiles  = "files"
	CapSchema = "schema"
	CapQuery  = "query"
)

// CapabilitiesOf derives what a Conn can do from the interfaces it
// implements, so nothing is advertised that does not work: "verify"
// (Verifier), "files" (FileLister and FileStater), "schema" (TableLister,
// ColumnLister and Sampler), "query" (Querier). It only asserts types, so a
// driver passes a typed nil to fill its Spec:
//
//	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
func CapabilitiesOf(c Conn) []string {
	var out []string
	if _, ok := c.(Verifier); ok {
		out = append(out, CapVerify)
	}
	_, list := c.(FileLister)
	_, stat := c.(FileStater)
	if list && stat {
		out = append(out, CapFiles)
	}
	_, tables := c.(TableLister)
	_, cols := c.(ColumnLister)
	_, sample := c.(Sampler)
	if tables && cols && sample {
		out = append(out, CapSchema)
	}
	if _, ok := c.(Querier); ok {
		out = append(out, CapQuery)
	}
	return out
}
