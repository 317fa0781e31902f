package builtin

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
)

// sample returns a plausible value for a field, enough for Open to accept.
func sample(f providers.Field) any {
	switch {
	case f.Type == providers.TypeEnum:
		if f.Default != nil {
			return f.Default
		}
		return f.Enum[0]
	case f.Type == providers.TypeInt:
		return int64(1)
	case f.Type == providers.TypeBool:
		return false
	case f.Type == providers.TypeStringList:
		return []string{"a"}
	case f.Type == providers.TypeObject:
		return map[string]any{}
	case strings.Contains(f.Name, "url") || strings.Contains(f.Name, "uri") || f.Name == "endpoint":
		return "https://api.example.com"
	case f.Name == "shop_domain":
		return "acme.myshopify.com"
	case f.Name == "site_hostname":
		return "acme.sharepoint.com"
	case f.Name == "host":
		return "db.example.com"
	case f.Name == "account_id":
		return "1234567"
	}
	return "acme"
}

// wantCapabilities is what each provider can do today: the six file
// providers list files, the four databases (and SaaS catalogs) browse
// schemas and run queries, everything verifies.
var wantCapabilities = map[string][]string{
	"s3": {"verify", "files"}, "sftp": {"verify", "files"}, "google_drive": {"verify", "files"},
	"msft_sharepoint": {"verify", "files"}, "dropbox": {"verify", "files"}, "gmail_inbox": {"verify", "files"},
	"postgres": {"verify", "schema", "query"}, "sqlserver": {"verify", "schema", "query"},
	"salesforce": {"verify", "schema", "query"}, "netsuite": {"verify", "schema", "query"},
	"shopify": {"verify"}, "http_api": {"verify"}, "flexiroam": {"verify"}, "starlink": {"verify"},
	"klaviyo": {"verify"}, "amazon_sp": {"verify"}, "mlflow": {"verify"}, "rydership": {"verify"},
	"gorgias": {"verify"}, "redo": {"verify"}, "bullhorn": {"verify"},
}

// TestEveryDriver: the registry serves the 21 providers of the contract, in
// its order, under the names the GraphQL enum spells; every spec is
// well-formed; every driver opens without network I/O and can verify.
func TestEveryDriver(t *testing.T) {
	reg := Registry()
	want := make([]string, len(model.AllProvider))
	for i, p := range model.AllProvider {
		want[i] = string(p)
	}
	if got := reg.Names(); !slices.Equal(got, want) {
		t.Fatalf("registry %v\nwant     %v", got, want)
	}
	for _, spec := range reg.Specs() {
		t.Run(spec.Name, func(t *testing.T) {
			if spec.Label == "" || spec.Category == "" || len(spec.AuthKinds) == 0 || !slices.Contains(spec.Capabilities, "verify") {
				t.Fatalf("incomplete spec: %+v", spec)
			}
			seen := map[string]bool{}
			settings, secrets := map[string]any{}, map[string]string{}
			for _, f := range spec.Fields {
				if seen[f.Name] || f.Name == "" || f.Label == "" {
					t.Fatalf("field %q duplicated or unnamed", f.Name)
				}
				seen[f.Name] = true
				if f.Secret && (f.Type != "" && f.Type != providers.TypeString || f.Default != nil || f.Target) {
					t.Fatalf("secret field %q must be a plain string without default", f.Name)
				}
				if f.Type == providers.TypeEnum && (len(f.Enum) == 0 || f.Default != nil && !slices.Contains(f.Enum, f.Default.(string))) {
					t.Fatalf("enum field %q: values %v default %v", f.Name, f.Enum, f.Default)
				}
				if f.RequiredWhen != nil {
					if _, ok := spec.Field(f.RequiredWhen.Field); !ok {
						t.Fatalf("field %q depends on unknown field %q", f.Name, f.RequiredWhen.Field)
					}
				}
			}
			// Fill what the default auth mode requires, then let Validate decide.
			for pass := 0; pass < 2; pass++ {
				norm, errs := spec.Validate(settings, secrets)
				for _, e := range errs {
					f, _ := spec.Field(e.Loc[1])
					if e.Type != "missing" {
						t.Fatalf("sample value refused: %+v", e)
					}
					if f.Secret {
						secrets[f.Name] = "secret-" + f.Name
					} else {
						settings[f.Name] = sample(f)
					}
				}
				if len(errs) == 0 {
					settings = norm
					break
				}
			}
			if _, errs := spec.Validate(settings, secrets); len(errs) > 0 {
				t.Fatalf("no valid sample config: %+v", errs)
			}
			if spec.Name == "bullhorn" {
				// Either secret will do, which a spec cannot say; Open checks it.
				secrets["api_password"] = "secret-api_password"
			}
			drv, _ := reg.Get(spec.Name)
			dialed := false
			cfg := providers.Config{Settings: settings, Secrets: secrets,
				Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
					dialed = true
					return nil, providers.ErrBlockedAddress
				}}
			conn, err := drv.Open(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Open with a valid sample config: %v", err)
			}
			defer conn.Close()
			if _, ok := conn.(providers.Verifier); !ok {
				t.Fatal("conn does not implement providers.Verifier")
			}
			// What is advertised is exactly what the opened Conn implements.
			if got := providers.CapabilitiesOf(conn); !slices.Equal(got, spec.Capabilities) {
				t.Fatalf("spec advertises %v, the opened conn implements %v", spec.Capabilities, got)
			}
			if want := wantCapabilities[spec.Name]; !slices.Equal(spec.Capabilities, want) {
				t.Fatalf("capabilities %v, want %v", spec.Capabilities, want)
			}
			if dialed {
				t.Fatal("Open dialed the network")
			}
		})
	}
}
