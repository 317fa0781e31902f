package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// The org the schema fake serves: describeGlobal and the describes of
// Account and Contact, shaped as the REST API answers them.
const sobjectsBody = `{"encoding":"UTF-8","maxBatchSize":200,"sobjects":[
 {"name":"Contact","label":"Contact","custom":false,"queryable":true,"urls":{"sobject":"/services/data/v62.0/sobjects/Contact"}},
 {"name":"AccountChangeEvent","label":"Account Change Event","custom":false,"queryable":false},
 {"name":"Account","label":"Account","custom":false,"queryable":true},
 {"name":"Invoice__c","label":"Invoice","custom":true,"queryable":true}]}`

var describes = map[string]string{
	"Account": `{"name":"Account","queryable":true,"fields":[
 {"name":"Id","type":"id","nillable":false,"length":18,"precision":0,"scale":0},
 {"name":"Name","type":"string","nillable":false,"length":255,"precision":0,"scale":0},
 {"name":"BillingAddress","type":"address","nillable":true,"length":0,"precision":0,"scale":0},
 {"name":"AnnualRevenue","type":"currency","nillable":true,"length":0,"precision":18,"scale":0},
 {"name":"NumberOfEmployees","type":"int","nillable":true,"length":0,"precision":0,"scale":0},
 {"name":"IsDeleted","type":"boolean","nillable":false,"length":0,"precision":0,"scale":0}]}`,
	"Contact": `{"name":"Contact","queryable":true,"fields":[
 {"name":"Id","type":"id","nillable":false,"length":18},
 {"name":"AccountId","type":"reference","nillable":true,"length":18},
 {"name":"Email","type":"email","nillable":true,"length":80}]}`,
}

// org registers the schema and query endpoints on f: every request must be
// an authorised GET with Accept: application/json; query pages are answered
// by the query func.
type org struct {
	f         *fake
	describes atomic.Int32
	// query answers a checked /query request (q is "" for a next page).
	query func(w http.ResponseWriter, r *http.Request, q string)
}

func newOrg(t *testing.T) (*fake, *org) {
	f := newFake(t)
	o := &org{f: f}
	check := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.Header.Get("Accept") != "application/json" {
				sfError(405, "METHOD_NOT_ALLOWED", "expected a GET accepting JSON")(w, 0)
				return
			}
			if !f.authorized(r) {
				sfError(401, "INVALID_SESSION_ID", "Session expired or invalid")(w, 0)
				return
			}
			h(w, r)
		}
	}
	f.mux.HandleFunc("/services/data/v62.0/sobjects", check(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Query()) > 0 {
			sfError(400, "INVALID_PARAMETER", "no parameters expected")(w, 0)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, sobjectsBody)
	}))
	f.mux.HandleFunc("/services/data/v62.0/sobjects/{name}/describe", check(func(w http.ResponseWriter, r *http.Request) {
		o.describes.Add(1)
		body, ok := describes[r.PathValue("name")]
		if !ok {
			sfError(404, "NOT_FOUND", "The requested resource does not exist")(w, 0)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	f.mux.HandleFunc("/services/data/v62.0/query", check(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if len(q) != 1 || q.Get("q") == "" || !strings.HasPrefix(r.Header.Get("Sforce-Query-Options"), "batchSize=") {
			sfError(400, "MALFORMED_QUERY", "expected q and a batch size")(w, 0)
			return
		}
		o.query(w, r, q.Get("q"))
	}))
	f.mux.HandleFunc("/services/data/v62.0/query/{locator}", check(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Query()) > 0 {
			sfError(400, "MALFORMED_QUERY", "a next page has no parameters")(w, 0)
			return
		}
		o.query(w, r, "")
	}))
	return f, o
}

func openConn(t *testing.T, f *fake) *conn {
	t.Helper()
	return providertest.Open(t, Driver{}, f.settings(nil), refreshSecrets()).(*conn)
}

func TestCapabilities(t *testing.T) {
	if got := (Driver{}).Spec().Capabilities; !reflect.DeepEqual(got, []string{"verify", "schema", "query"}) {
		t.Errorf("capabilities = %v", got)
	}
}

func TestListTables(t *testing.T) {
	f, _ := newOrg(t)
	c := openConn(t, f)
	tests := []struct {
		name string
		req  providers.ListTablesRequest
		want []string
	}{
		{"all queryable, by name", providers.ListTablesRequest{}, []string{"Account", "Contact", "Invoice__c"}},
		{"search", providers.ListTablesRequest{Search: "CONT"}, []string{"Contact"}},
		{"schema", providers.ListTablesRequest{Schema: "sobjects", Search: "__c"}, []string{"Invoice__c"}},
		{"other schema", providers.ListTablesRequest{Schema: "dbo"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := c.ListTables(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tb := range list.Tables {
				if tb.Schema != "sobjects" || tb.Kind != providers.TableKindObject || tb.Spec != tb.Table {
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
	f, o := newOrg(t)
	c := openConn(t, f)
	account := providers.TableRef{Schema: "sobjects", Table: "Account"}
	contact := providers.TableRef{Schema: "sobjects", Table: "Contact"}
	sets, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: []providers.TableRef{
		account, contact, account,
		{Schema: "sobjects", Table: "Nope__c"},
		{Schema: "sobjects", Table: "Bad/../name"},
		{Schema: "dbo", Table: "Account"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets.Tables) != 2 {
		t.Fatalf("tables = %v, want Account and Contact only", sets.Tables)
	}
	want := []providers.Column{
		{Name: "Id", DataType: "id", PrimaryKey: true},
		{Name: "Name", DataType: "string(255)"},
		{Name: "BillingAddress", DataType: "address", Nullable: true},
		{Name: "AnnualRevenue", DataType: "currency(18,0)", Nullable: true},
		{Name: "NumberOfEmployees", DataType: "int", Nullable: true},
		{Name: "IsDeleted", DataType: "boolean"},
	}
	if got := sets.Tables[account]; !reflect.DeepEqual(got, want) {
		t.Errorf("Account columns\n got %+v\nwant %+v", got, want)
	}
	if got := sets.Tables[contact]; len(got) != 3 || got[2] != (providers.Column{Name: "Email", DataType: "email(80)", Nullable: true}) {
		t.Errorf("Contact columns = %+v", got)
	}
	// Account once (deduplicated), Contact, Nope__c; never the invalid name.
	if n := o.describes.Load(); n != 3 {
		t.Errorf("describe calls = %d, want 3", n)
	}
}

func TestListColumnsFailure(t *testing.T) {
	f, _ := newOrg(t)
	f.mux.HandleFunc("/services/data/v62.0/sobjects/Broken/describe", func(w http.ResponseWriter, r *http.Request) {
		sfError(403, "INSUFFICIENT_ACCESS", "insufficient access rights on cross-reference id")(w, 0)
	})
	c := openConn(t, f)
	_, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: []providers.TableRef{
		{Schema: "sobjects", Table: "Account"}, {Schema: "sobjects", Table: "Broken"},
	}})
	providertest.WantCode(t, err, providers.CodePermissionDenied)
}

func TestListColumnsConcurrency(t *testing.T) {
	f := newFake(t)
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	f.mux.HandleFunc("/services/data/v62.0/sobjects/{name}/describe", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == describeConcurrency {
			once.Do(func() { close(release) })
		}
		<-release
		json.NewEncoder(w).Encode(map[string]any{"name": r.PathValue("name"), "queryable": true,
			"fields": []map[string]any{{"name": "Id", "type": "id"}}})
	})
	c := openConn(t, f)
	var refs []providers.TableRef
	for i := range 12 {
		refs = append(refs, providers.TableRef{Schema: "sobjects", Table: fmt.Sprintf("Obj%d__c", i)})
	}
	sets, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets.Tables) != 12 || peak.Load() != describeConcurrency {
		t.Errorf("tables = %d, peak concurrency = %d (want 12, %d)", len(sets.Tables), peak.Load(), describeConcurrency)
	}
}
