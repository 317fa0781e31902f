package netsuite

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const catalogBody = `{"items":[
 {"name":"salesorder","links":[{"rel":"canonical","href":"https://x/services/rest/record/v1/metadata-catalog/salesorder"}]},
 {"name":"customer","links":[{"rel":"canonical","href":"https://x/services/rest/record/v1/metadata-catalog/customer"}]},
 {"name":"customrecord_ship_log","links":[]},
 {"name":"account","links":[]}],
 "links":[{"rel":"self","href":"https://x/services/rest/record/v1/metadata-catalog"}]}`

// customerSchema is a JSON Schema as the catalog answers it, properties
// deliberately not in alphabetical order.
const customerSchema = `{"type":"object","$schema":"https://json-schema.org/draft-06/schema#",
 "properties":{
  "id":{"type":"string","title":"Internal ID"},
  "entityId":{"type":"string","title":"ID","nullable":false},
  "dateCreated":{"type":"string","format":"date-time","title":"Date Created","nullable":true},
  "balance":{"type":"number","format":"double","title":"Balance"},
  "currency":{"$ref":"/services/rest/record/v1/metadata-catalog/currency"},
  "isInactive":{"type":["boolean","null"],"title":"Inactive"}},
 "required":["id","balance","currency","isInactive"]}`

// catalog registers the metadata catalog on f. Every request must be an
// authenticated GET; a record schema must be asked for as
// application/schema+json.
func catalog(f *fake) *atomic.Int32 {
	var schemas atomic.Int32
	f.mux.HandleFunc("GET "+catalogPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" || r.URL.RawQuery != "" || r.ContentLength > 0 {
			nsError(w, 400, "INVALID_PARAMETER", "unexpected catalog request")
			return
		}
		if f.authorized(w, r) {
			w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=collection")
			fmt.Fprint(w, catalogBody)
		}
	})
	f.mux.HandleFunc("GET "+catalogPath+"/{record}", func(w http.ResponseWriter, r *http.Request) {
		schemas.Add(1)
		if r.Header.Get("Accept") != "application/schema+json" || r.URL.RawQuery != "" {
			nsError(w, 400, "INVALID_PARAMETER", "expected Accept: application/schema+json")
			return
		}
		if !f.authorized(w, r) {
			return
		}
		switch r.PathValue("record") {
		case "customer":
			w.Header().Set("Content-Type", "application/schema+json")
			fmt.Fprint(w, customerSchema)
		case "account":
			fmt.Fprint(w, `{"type":"object","properties":{"id":{"type":"string"},"acctName":{"type":"string"}},"required":["id"]}`)
		default:
			nsError(w, 404, "NONEXISTENT_ID", "Record type "+r.PathValue("record")+" does not exist.")
		}
	})
	return &schemas
}

func openTBA(t *testing.T, f *fake) *conn {
	t.Helper()
	return open(t, map[string]any{"account_id": account, "base_url": f.srv.URL}, tbaSecrets())
}

func TestCapabilities(t *testing.T) {
	if got := (Driver{}).Spec().Capabilities; !reflect.DeepEqual(got, []string{"verify", "schema", "query"}) {
		t.Errorf("capabilities = %v", got)
	}
}

func TestListTables(t *testing.T) {
	f := newFake(t)
	catalog(f)
	c := openTBA(t, f)
	tests := []struct {
		name string
		req  providers.ListTablesRequest
		want []string
	}{
		{"all, by name", providers.ListTablesRequest{}, []string{"account", "customer", "customrecord_ship_log", "salesorder"}},
		{"search", providers.ListTablesRequest{Search: "CUST"}, []string{"customer", "customrecord_ship_log"}},
		{"schema", providers.ListTablesRequest{Schema: "records", Search: "order"}, []string{"salesorder"}},
		{"other schema", providers.ListTablesRequest{Schema: "netsuite"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := c.ListTables(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tb := range list.Tables {
				if tb.Schema != "records" || tb.Kind != providers.TableKindObject || tb.Spec != tb.Table {
					t.Errorf("table = %+v", tb)
				}
				got = append(got, tb.Table)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tables = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListColumns(t *testing.T) {
	f := newFake(t)
	schemas := catalog(f)
	c := openTBA(t, f)
	customer := providers.TableRef{Schema: "records", Table: "customer"}
	acct := providers.TableRef{Schema: "records", Table: "account"}
	sets, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: []providers.TableRef{
		customer, acct, customer,
		{Schema: "records", Table: "nosuchrecord"},
		{Schema: "records", Table: "../metadata-catalog"},
		{Schema: "sobjects", Table: "customer"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Column{
		{Name: "id", DataType: "string", PrimaryKey: true},
		{Name: "entityId", DataType: "string"},
		{Name: "dateCreated", DataType: "string/date-time", Nullable: true},
		{Name: "balance", DataType: "number/double"},
		{Name: "currency", DataType: "object"},
		{Name: "isInactive", DataType: "boolean", Nullable: true},
	}
	if got := sets.Tables[customer]; !reflect.DeepEqual(got, want) {
		t.Errorf("customer columns\n got %+v\nwant %+v", got, want)
	}
	if got := sets.Tables[acct]; len(got) != 2 || got[1] != (providers.Column{Name: "acctName", DataType: "string", Nullable: true}) {
		t.Errorf("account columns = %+v", got)
	}
	if len(sets.Tables) != 2 || schemas.Load() != 3 {
		t.Errorf("tables = %d (want 2), schema calls = %d (want 3)", len(sets.Tables), schemas.Load())
	}
}

func TestListColumnsM2M(t *testing.T) {
	f := newFake(t)
	catalog(f)
	c := openM2M(t, f)
	sets, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: []providers.TableRef{{Schema: "records", Table: "account"}}})
	if err != nil || len(sets.Tables) != 1 {
		t.Fatalf("columns = %v, %v", sets, err)
	}
}

// TestCatalogRetrySignsAgain answers the first catalog GET with a 429: the
// retry must carry a new nonce (the fake refuses a reused one).
func TestCatalogRetrySignsAgain(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.mux.HandleFunc("GET "+catalogPath, func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(w, r) {
			return
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			nsError(w, 429, "TOO_MANY_REQUESTS", "Concurrency limit exceeded")
			return
		}
		fmt.Fprint(w, catalogBody)
	})
	c := openTBA(t, f)
	list, err := c.ListTables(context.Background(), providers.ListTablesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tables) != 4 || calls.Load() != 2 {
		t.Errorf("tables = %d, calls = %d", len(list.Tables), calls.Load())
	}
}

func TestCatalogErrors(t *testing.T) {
	f := newFake(t)
	f.mux.HandleFunc("GET "+catalogPath, func(w http.ResponseWriter, r *http.Request) {
		nsError(w, 403, "INSUFFICIENT_PERMISSION", "Permission Violation: You need the 'REST Web Services' permission.")
	})
	c := openTBA(t, f)
	_, err := c.ListTables(context.Background(), providers.ListTablesRequest{})
	providertest.WantCode(t, err, providers.CodePermissionDenied)
}
