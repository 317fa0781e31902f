package netsuite

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

func openM2M(t *testing.T, f *fake) *conn {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.m2mKey = &key.PublicKey
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	return open(t, map[string]any{"account_id": account, "auth_mode": "oauth2_m2m", "base_url": f.srv.URL,
		"client_id": m2mClientID, "certificate_id": certificateID}, map[string]string{"private_key_pem": keyPEM})
}

// suiteqlRequest is what the fake saw of one SuiteQL call.
type suiteqlRequest struct {
	q             string
	limit, offset int
}

// rowsServer answers SuiteQL with n generated rows, paged by the request's
// limit and offset as NetSuite pages them, and records each request.
func rowsServer(f *fake, wantQ string, n int) *[]suiteqlRequest {
	var (
		mu   sync.Mutex
		seen []suiteqlRequest
	)
	f.sql = func(w http.ResponseWriter, r *http.Request, q string) {
		query := r.URL.Query()
		limit, err1 := strconv.Atoi(query.Get("limit"))
		offset := 0
		var err2 error
		if query.Has("offset") {
			offset, err2 = strconv.Atoi(query.Get("offset"))
		}
		mu.Lock()
		seen = append(seen, suiteqlRequest{q, limit, offset})
		mu.Unlock()
		if q != wantQ || err1 != nil || err2 != nil || limit < 1 || limit > 1000 || len(query) > 2 {
			nsError(w, 400, "INVALID_PARAMETER", fmt.Sprintf("unexpected request %q %s", q, r.URL.RawQuery))
			return
		}
		var items []string
		for i := offset; i < min(offset+limit, n); i++ {
			// The memo is null on even rows: SuiteQL leaves it out.
			memo := ""
			if i%2 == 1 {
				memo = fmt.Sprintf(`,"memo":"row %d"`, i)
			}
			items = append(items, fmt.Sprintf(`{"links":[],"id":"%d","amount":12.50,"big":12345678901234567890%s}`, i, memo))
		}
		w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=collection")
		fmt.Fprintf(w, `{"links":[],"count":%d,"hasMore":%t,"items":[%s],"offset":%d,"totalResults":%d}`,
			len(items), offset+limit < n, strings.Join(items, ","), offset, n)
	}
	return &seen
}

func TestSample(t *testing.T) {
	f := newFake(t)
	catalog(f)
	seen := rowsServer(f, "SELECT * FROM customer", 10)
	c := openTBA(t, f)
	rs, err := c.Sample(context.Background(), providers.SampleRequest{Table: providers.TableRef{Schema: "records", Table: "customer"}, Limits: providers.RowLimits{MaxRows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*seen, []suiteqlRequest{{"SELECT * FROM customer", 3, 0}}) {
		t.Errorf("requests = %+v", *seen)
	}
	b, _ := json.Marshal(rs.Rows)
	if got := string(b); got != `[["0",12.50,"12345678901234567890",null],["1",12.50,"12345678901234567890","row 1"]]` || !rs.Truncated {
		t.Errorf("rows = %s truncated=%v", got, rs.Truncated)
	}
	want := []providers.Column{{Name: "id", DataType: "string", Nullable: true}, {Name: "amount", DataType: "number", Nullable: true},
		{Name: "big", DataType: "number", Nullable: true}, {Name: "memo", DataType: "string", Nullable: true}}
	if !reflect.DeepEqual(rs.Columns, want) {
		t.Errorf("columns = %+v", rs.Columns)
	}

	for _, ref := range []providers.TableRef{{Schema: "records", Table: "nosuch"}, {Schema: "records", Table: "customer; DELETE"}, {Schema: "public", Table: "customer"}} {
		_, err := c.Sample(context.Background(), providers.SampleRequest{Table: ref, Limits: providers.RowLimits{MaxRows: 2}})
		providertest.WantCode(t, err, providers.CodeNotFound)
	}
	if len(*seen) != 1 {
		t.Errorf("unknown tables reached SuiteQL: %+v", *seen)
	}
}

func TestQueryPages(t *testing.T) {
	const q = "SELECT id, memo FROM transaction ORDER BY id"
	tests := []struct {
		name      string
		rows      int // rows upstream
		maxRows   int
		maxBytes  int
		want      int
		truncated bool
		requests  []suiteqlRequest
	}{
		{"one page", 5, 10, 0, 5, false, []suiteqlRequest{{q, 11, 0}}},
		{"cut within a page", 50, 10, 0, 10, true, []suiteqlRequest{{q, 11, 0}}},
		{"two pages of 1000", 1200, 1500, 0, 1200, false, []suiteqlRequest{{q, 1000, 0}, {q, 1000, 1000}}},
		{"cut on the second page", 5000, 1000, 0, 1000, true, []suiteqlRequest{{q, 1000, 0}, {q, 1000, 1000}}},
		{"exactly maxRows", 1000, 1000, 0, 1000, false, []suiteqlRequest{{q, 1000, 0}}},
		{"byte cap stops paging", 5000, 2000, 2000, 0, true, []suiteqlRequest{{q, 1000, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			seen := rowsServer(f, q, tc.rows)
			c := openTBA(t, f)
			res, err := c.Query(context.Background(), providers.QueryRequest{SQL: q + " ;\n", Limits: providers.RowLimits{MaxRows: tc.maxRows, MaxBytes: tc.maxBytes}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want > 0 && len(res.Rows) != tc.want || tc.want == 0 && len(res.Rows) == 0 || res.Truncated != tc.truncated {
				t.Errorf("rows = %d truncated = %v, want %d %v", len(res.Rows), res.Truncated, tc.want, tc.truncated)
			}
			if !reflect.DeepEqual(*seen, tc.requests) {
				t.Errorf("requests = %+v\nwant %+v", *seen, tc.requests)
			}
			if !reflect.DeepEqual(res.TableRefs, []providers.TableRef{{Schema: "records", Table: "transaction"}}) {
				t.Errorf("table refs = %v", res.TableRefs)
			}
		})
	}
}

func TestQueryM2M(t *testing.T) {
	f := newFake(t)
	seen := rowsServer(f, "SELECT id FROM customer", 3)
	c := openM2M(t, f)
	res, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT id FROM customer", Limits: providers.RowLimits{MaxRows: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || len(*seen) != 1 || f.tokenCalls.Load() != 1 {
		t.Errorf("rows = %d, requests = %d, token calls = %d", len(res.Rows), len(*seen), f.tokenCalls.Load())
	}
}

func TestQueryRefused(t *testing.T) {
	f := newFake(t)
	seen := rowsServer(f, "", 0)
	c := openTBA(t, f)
	for _, q := range []string{
		"",
		" ; ",
		"DELETE FROM customer",
		"UPDATE customer SET companyname = 'x'",
		"SELECT id FROM customer; SELECT id FROM vendor",
		"SELECT id FROM customer;;",
		"WITH x AS (SELECT id FROM customer)",
		"WITH x AS (SELECT id FROM customer) DELETE FROM x",
		"'SELECT' id",
		"\"SELECT\" id FROM customer",
		"SELECT id FROM customer WHERE companyname = 'open",
		"SELECT id FROM customer /* not closed",
		"-- SELECT id FROM customer\nDELETE FROM customer",
		"(SELECT id FROM customer)",
	} {
		_, err := c.Query(context.Background(), providers.QueryRequest{SQL: q, Limits: providers.RowLimits{MaxRows: 1}})
		providertest.WantCode(t, err, providers.CodeRefused)
	}
	if len(*seen) != 0 {
		t.Errorf("refused statements reached SuiteQL: %+v", *seen)
	}
}

func TestQueryFailed(t *testing.T) {
	f := newFake(t)
	f.sql = func(w http.ResponseWriter, r *http.Request, q string) {
		nsError(w, 400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Field 'nosuchfield' for record 'customer' was not found. Reason: NOT_EXPOSED - Not available for channel SEARCH. "+consumerSecret)
	}
	c := openTBA(t, f)
	_, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT nosuchfield FROM customer", Limits: providers.RowLimits{MaxRows: 1}})
	pe := providertest.WantCode(t, err, providers.CodeQueryFailed)
	if !strings.Contains(pe.Message, "Field 'nosuchfield' for record 'customer' was not found") || strings.Contains(pe.Message, consumerSecret) {
		t.Errorf("message = %q", pe.Message)
	}

	// A concurrency refusal is still a rate limit, not a failed statement.
	f.sql = func(w http.ResponseWriter, r *http.Request, q string) {
		nsError(w, 400, "SSS_REQUEST_LIMIT_EXCEEDED", "Request limit exceeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Query(ctx, providers.QueryRequest{SQL: "SELECT id FROM customer", Limits: providers.RowLimits{MaxRows: 1}})
	providertest.WantCode(t, err, providers.CodeRateLimited)
}

func TestQueryTimeout(t *testing.T) {
	f := newFake(t)
	f.sql = func(w http.ResponseWriter, r *http.Request, q string) { <-r.Context().Done() }
	c := openTBA(t, f)
	_, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT id FROM customer", Limits: providers.RowLimits{MaxRows: 1}, Timeout: 50 * time.Millisecond})
	providertest.WantCode(t, err, providers.CodeTimeout)
}

func TestParseSuiteQL(t *testing.T) {
	tests := []struct {
		q    string
		text string
		refs []string
	}{
		{"SELECT id FROM customer", "SELECT id FROM customer", []string{"customer"}},
		{"select t.id, tl.item from Transaction t JOIN transactionLine tl ON tl.transaction = t.id;", "select t.id, tl.item from Transaction t JOIN transactionLine tl ON tl.transaction = t.id", []string{"transaction", "transactionline"}},
		{"SELECT c.id FROM customer c, employee e, (SELECT id FROM vendor) v WHERE c.x = e.y", "", []string{"customer", "employee", "vendor"}},
		{"WITH big AS (SELECT id FROM transaction WHERE amount > 10), small(id) AS (SELECT id FROM item) SELECT * FROM big JOIN small ON big.id = small.id JOIN \"Account\" a ON 1=1", "", []string{"transaction", "item", "account"}},
		{"SELECT 'FROM x' AS a, \"FROM\" FROM customer -- FROM y\n/* JOIN z */ WHERE id IN (1, 2)", "", []string{"customer"}},
		{"SELECT BUILTIN.DF(status) FROM transaction WHERE id = 'it''s; here'", "", []string{"transaction"}},
		{"SELECT COUNT(*) FROM customer GROUP BY x ORDER BY 1", "", []string{"customer"}},
	}
	for _, tc := range tests {
		st, err := parseSuiteQL(tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		var refs []string
		for _, r := range st.refs {
			if r.Schema != "records" {
				t.Errorf("%s: ref %+v", tc.q, r)
			}
			refs = append(refs, r.Table)
		}
		if !reflect.DeepEqual(refs, tc.refs) {
			t.Errorf("%s: refs = %v, want %v", tc.q, refs, tc.refs)
		}
		if tc.text != "" && st.text != tc.text {
			t.Errorf("%s: text = %q", tc.q, st.text)
		}
	}
}

// TestQueryRetriesSignAgain: a 503 on a SuiteQL page is retried by the
// driver with a fresh TBA signature.
func TestQueryRetriesSignAgain(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.sql = func(w http.ResponseWriter, r *http.Request, q string) {
		if calls.Add(1) < 3 {
			nsError(w, 503, "SERVICE_UNAVAILABLE", "try later")
			return
		}
		fmt.Fprint(w, `{"items":[{"links":[],"id":"1"}],"hasMore":false}`)
	}
	c := openTBA(t, f)
	res, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT id FROM customer", Limits: providers.RowLimits{MaxRows: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || calls.Load() != 3 {
		t.Errorf("rows = %d, calls = %d", len(res.Rows), calls.Load())
	}
}
