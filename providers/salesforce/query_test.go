package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

func rowsJSON(t *testing.T, rs *providers.RowSet) string {
	t.Helper()
	b, err := json.Marshal(rs.Rows)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func columnNames(cols []providers.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

func queryPage(w http.ResponseWriter, done bool, next string, records ...string) {
	w.Header().Set("Content-Type", "application/json")
	page := fmt.Sprintf(`{"totalSize":%d,"done":%t,"records":[%s]}`, len(records), done, strings.Join(records, ","))
	if next != "" {
		page = fmt.Sprintf(`{"totalSize":%d,"done":%t,"nextRecordsUrl":%q,"records":[%s]}`, len(records), done, next, strings.Join(records, ","))
	}
	fmt.Fprint(w, page)
}

func account(id, name string) string {
	return fmt.Sprintf(`{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/%s"},"Id":%q,"Name":%q,"AnnualRevenue":1250000.5,"NumberOfEmployees":9007199254740993,"IsDeleted":false}`, id, id, name)
}

func TestSample(t *testing.T) {
	f, o := newOrg(t)
	var got atomic.Value
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		got.Store(q + " | " + r.Header.Get("Sforce-Query-Options"))
		queryPage(w, true, "", account("001A", "Acme"), account("001B", "Globex"), account("001C", "Initech"))
	}
	c := openConn(t, f)
	rs, err := c.Sample(context.Background(), providers.SampleRequest{Table: providers.TableRef{Schema: "sobjects", Table: "Account"}, Limits: providers.RowLimits{MaxRows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Load(); q != "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, IsDeleted FROM Account LIMIT 3 | batchSize=200" {
		t.Errorf("request = %v", q)
	}
	if names := columnNames(rs.Columns); !reflect.DeepEqual(names, []string{"Id", "Name", "AnnualRevenue", "NumberOfEmployees", "IsDeleted"}) {
		t.Errorf("columns = %v", names)
	}
	if !rs.Columns[0].PrimaryKey || rs.Columns[1].DataType != "string(255)" {
		t.Errorf("columns = %+v", rs.Columns)
	}
	want := `[["001A","Acme",1250000.5,"9007199254740993",false],["001B","Globex",1250000.5,"9007199254740993",false]]`
	if j := rowsJSON(t, rs); j != want || !rs.Truncated {
		t.Errorf("rows = %s truncated=%v\nwant %s truncated", j, rs.Truncated, want)
	}

	for _, ref := range []providers.TableRef{{Schema: "sobjects", Table: "Nope__c"}, {Schema: "public", Table: "Account"}, {Schema: "sobjects", Table: "Account WHERE"}} {
		_, err := c.Sample(context.Background(), providers.SampleRequest{Table: ref, Limits: providers.RowLimits{MaxRows: 2}})
		providertest.WantCode(t, err, providers.CodeNotFound)
	}
}

func TestQueryPages(t *testing.T) {
	f, o := newOrg(t)
	const soql = "SELECT Name, Id, Account.Name FROM Contact WHERE AccountId IN (SELECT Id FROM Account WHERE Name = 'x\\' FROM Lead') ORDER BY Name"
	contact := func(n int) string {
		return fmt.Sprintf(`{"attributes":{"type":"Contact"},"Name":"C%d","Id":"003%d","Account":{"attributes":{"type":"Account"},"Name":"Acme"}}`, n, n)
	}
	var calls atomic.Int32
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		switch n := calls.Add(1); {
		case n == 1 && q == soql && r.Header.Get("Sforce-Query-Options") == "batchSize=200":
			queryPage(w, false, "/services/data/v62.0/query/01gD0000002HU6KIAW-2", contact(1), contact(2))
		case n == 2 && q == "" && r.URL.Path == "/services/data/v62.0/query/01gD0000002HU6KIAW-2":
			queryPage(w, false, "/services/data/v62.0/query/01gD0000002HU6KIAW-4", contact(3), contact(4))
		case n == 3 && q == "":
			queryPage(w, true, "", contact(5))
		default:
			sfError(400, "MALFORMED_QUERY", "unexpected request "+r.URL.String())(w, 0)
		}
	}
	c := openConn(t, f)

	res, err := c.Query(context.Background(), providers.QueryRequest{SQL: "  " + soql + "\n", Limits: providers.RowLimits{MaxRows: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if names := columnNames(res.Columns); !reflect.DeepEqual(names, []string{"Name", "Id", "Account"}) {
		t.Errorf("columns = %v", names)
	}
	if res.Columns[2].DataType != "object" || res.Columns[0].DataType != "string" {
		t.Errorf("column types = %+v", res.Columns)
	}
	if len(res.Rows) != 5 || res.Truncated || string(res.Rows[4][2]) != `{"attributes":{"type":"Account"},"Name":"Acme"}` {
		t.Errorf("rows = %s truncated=%v", rowsJSON(t, &res.RowSet), res.Truncated)
	}
	wantRefs := []providers.TableRef{{Schema: "sobjects", Table: "Contact"}, {Schema: "sobjects", Table: "Account"}}
	if !reflect.DeepEqual(res.TableRefs, wantRefs) {
		t.Errorf("table refs = %v", res.TableRefs)
	}

	// Cut at 3 rows: the second page ends the result, the third is never asked for.
	calls.Store(0)
	res, err = c.Query(context.Background(), providers.QueryRequest{SQL: soql, Limits: providers.RowLimits{MaxRows: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || !res.Truncated || calls.Load() != 2 {
		t.Errorf("rows = %d truncated=%v calls=%d; want 3, true, 2", len(res.Rows), res.Truncated, calls.Load())
	}

	// Exactly MaxRows rows and more pages: truncated without another call.
	calls.Store(0)
	res, err = c.Query(context.Background(), providers.QueryRequest{SQL: soql, Limits: providers.RowLimits{MaxRows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || !res.Truncated || calls.Load() != 1 {
		t.Errorf("rows = %d truncated=%v calls=%d; want 2, true, 1", len(res.Rows), res.Truncated, calls.Load())
	}

	// A byte cap cuts too.
	calls.Store(0)
	res, err = c.Query(context.Background(), providers.QueryRequest{SQL: soql, Limits: providers.RowLimits{MaxRows: 10, MaxBytes: 150}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) == 0 || len(res.Rows) >= 5 || !res.Truncated {
		t.Errorf("rows = %d truncated=%v; want cut by bytes", len(res.Rows), res.Truncated)
	}
}

func TestQueryNoRecords(t *testing.T) {
	f, o := newOrg(t)
	o.query = func(w http.ResponseWriter, r *http.Request, q string) { queryPage(w, true, "") }
	c := openConn(t, f)
	res, err := c.Query(context.Background(), providers.QueryRequest{
		SQL:    "SELECT Id, Account.Name, COUNT(Id), MAX(Amount) biggest, toLabel(StageName), (SELECT Id FROM OpportunityLineItems) FROM Opportunity GROUP BY Id",
		Limits: providers.RowLimits{MaxRows: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	if names := columnNames(res.Columns); !reflect.DeepEqual(names, []string{"Id", "Account", "expr0", "biggest", "StageName", "OpportunityLineItems"}) {
		t.Errorf("columns = %v", names)
	}
	if res.Rows == nil || len(res.Rows) != 0 || res.Truncated {
		t.Errorf("rows = %v truncated=%v", res.Rows, res.Truncated)
	}
	if !reflect.DeepEqual(res.TableRefs, []providers.TableRef{{Schema: "sobjects", Table: "Opportunity"}}) {
		t.Errorf("table refs = %v", res.TableRefs)
	}
}

func TestQueryRefused(t *testing.T) {
	f, o := newOrg(t)
	var calls atomic.Int32
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		calls.Add(1)
		queryPage(w, true, "")
	}
	c := openConn(t, f)
	for _, soql := range []string{
		"",
		"   \n",
		"DELETE FROM Account",
		"UPDATE Account SET Name = 'x'",
		"FIND {Acme} RETURNING Account",
		"'SELECT' Id FROM Account",
		"(SELECT Id FROM Account)",
		"SELECTId FROM Account",
		"SELECT Id FROM Account WHERE Name = 'open",
		"SELECT Id FROM Account WHERE Name = 'it\\'s",
	} {
		_, err := c.Query(context.Background(), providers.QueryRequest{SQL: soql, Limits: providers.RowLimits{MaxRows: 1}})
		providertest.WantCode(t, err, providers.CodeRefused)
	}
	if calls.Load() != 0 {
		t.Errorf("%d refused statements reached Salesforce", calls.Load())
	}
}

func TestQueryFailed(t *testing.T) {
	f, o := newOrg(t)
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		sfError(400, "INVALID_FIELD", "\nSELECT Nme FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nme' on entity 'Account'. token 00Dxx!access-1")(w, 0)
	}
	c := openConn(t, f)
	_, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT Nme FROM Account", Limits: providers.RowLimits{MaxRows: 1}})
	pe := providertest.WantCode(t, err, providers.CodeQueryFailed)
	if !strings.Contains(pe.Message, "No such column 'Nme' on entity 'Account'") || strings.Contains(pe.Message, "00Dxx!access-1") {
		t.Errorf("message = %q", pe.Message)
	}

	// Other statuses keep the codes apiError gives them.
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		sfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")(w, 0)
	}
	_, err = c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT Id FROM Account", Limits: providers.RowLimits{MaxRows: 1}})
	providertest.WantCode(t, err, providers.CodeRateLimited)
}

func TestQueryTimeout(t *testing.T) {
	f, o := newOrg(t)
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		<-r.Context().Done()
	}
	c := openConn(t, f)
	_, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT Id FROM Account", Limits: providers.RowLimits{MaxRows: 1}, Timeout: 50 * time.Millisecond})
	providertest.WantCode(t, err, providers.CodeTimeout)
}

// TestQueryInstanceFromToken runs a query with no instance_url configured:
// every page goes to the instance the token response names.
func TestQueryInstanceFromToken(t *testing.T) {
	f, o := newOrg(t)
	var calls atomic.Int32
	o.query = func(w http.ResponseWriter, r *http.Request, q string) {
		if calls.Add(1) == 1 {
			queryPage(w, false, "/services/data/v62.0/query/01g-2", account("001A", "Acme"))
			return
		}
		queryPage(w, true, "", account("001B", "Globex"))
	}
	login := newFake(t) // the login host: answers tokens naming f as the instance
	login.instance = f.srv.URL
	f.mu.Lock()
	f.issued = append(f.issued, "00Dxx!access-1")
	f.mu.Unlock()
	c := providertest.Open(t, Driver{}, login.settings(nil), refreshSecrets()).(*conn)
	res, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT Id FROM Account", Limits: providers.RowLimits{MaxRows: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || calls.Load() != 2 {
		t.Errorf("rows = %d, calls = %d", len(res.Rows), calls.Load())
	}
}

func TestParseSOQL(t *testing.T) {
	st, err := parseSOQL("select Id, (SELECT LastName FROM Contacts), TYPEOF What WHEN Account THEN Phone END FROM Account a WHERE Id IN (SELECT AccountId FROM Opportunity) AND Name != 'FROM Lead' AND Id NOT IN (select accountid from OPPORTUNITY)")
	if err != nil {
		t.Fatal(err)
	}
	if want := []providers.TableRef{{Schema: "sobjects", Table: "Account"}, {Schema: "sobjects", Table: "Opportunity"}}; !reflect.DeepEqual(st.refs, want) {
		t.Errorf("refs = %v", st.refs)
	}
	if names := columnNames(st.columns); !reflect.DeepEqual(names, []string{"Id", "Contacts", "What"}) {
		t.Errorf("columns = %v", names)
	}
}
