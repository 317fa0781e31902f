package sqlserver

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const rollbackSQL = "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION"

// session answers the requests run sends around a statement (SET
// LOCK_TIMEOUT and BEGIN TRANSACTION, ROLLBACK) and passes the rest to
// statement.
func session(statement tdsHandler) tdsHandler {
	return func(req tdsRequest) []byte {
		switch {
		case !req.rpc && strings.HasPrefix(req.sql, "SET LOCK_TIMEOUT ") && strings.HasSuffix(req.sql, "; BEGIN TRANSACTION;"):
			return done(0)
		case !req.rpc && req.sql == rollbackSQL:
			return done(0)
		}
		return statement(req)
	}
}

// wantSession checks that log is the lock timeout and BEGIN, the statement,
// and the ROLLBACK, all on one connection, and returns the lock timeout.
func wantSession(t *testing.T, log []tdsRequest, statement string) int64 {
	t.Helper()
	if len(log) < 3 {
		t.Fatalf("requests = %+v", log)
	}
	n := len(log)
	begin, stmt, rollback := log[n-3], log[n-2], log[n-1]
	if stmt.sql != statement || rollback.sql != rollbackSQL || begin.conn != stmt.conn || stmt.conn != rollback.conn {
		t.Fatalf("requests = %+v", log[n-3:])
	}
	ms, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(begin.sql, "SET LOCK_TIMEOUT "), "; BEGIN TRANSACTION;"), 10, 64)
	if err != nil {
		t.Fatalf("setup = %q", begin.sql)
	}
	return ms
}

var sampleCols = []tdsCol{
	{"id", "int"}, {"big", "bigint"}, {"name", "nvarchar(40)"}, {"notes", "nvarchar(max)"}, {"price", "decimal(10,2)"},
	{"ratio", "float"}, {"active", "bit"}, {"guid", "uniqueidentifier"}, {"blob", "varbinary(16)"}, {"day", "date"},
	{"at", "datetime2(7)"}, {"cash", "money"},
}

func sampleRow(id int64) []any {
	u := mssql.UniqueIdentifier{0x6F, 0x96, 0x19, 0xFF, 0x8B, 0x86, 0xD0, 0x11, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF}
	wire, _ := u.Value()
	var g [16]byte
	copy(g[:], wire.([]byte))
	return []any{id, int64(9007199254740993), "Ørder " + strconv.FormatInt(id, 10), "long text", int64(1250), 1.5, true, g, []byte{1, 2, 3},
		time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 31, 10, 20, 30, 123456700, time.UTC), int64(125000)}
}

func TestSample(t *testing.T) {
	s := newTDSServer(t, session(func(req tdsRequest) []byte {
		switch {
		case req.rpc && req.sql == tableExistsSQL && reflect.DeepEqual(req.args, []any{"dbo", "orders"}):
			// The catalog spells it Orders: that spelling is quoted.
			return resultSet([]tdsCol{{"s", "nvarchar(128)"}, {"t", "nvarchar(128)"}}, []any{"dbo", "Orders"})
		case req.rpc && req.sql == tableExistsSQL:
			return resultSet([]tdsCol{{"s", "nvarchar(128)"}, {"t", "nvarchar(128)"}})
		case req.rpc && req.sql == "SELECT TOP (@p1) * FROM [dbo].[Orders]" && reflect.DeepEqual(req.args, []any{int64(3)}):
			return resultSet(sampleCols, sampleRow(1), append(sampleRow(2)[:3:3], nil, nil, nil, nil, nil, nil, nil, nil, nil), sampleRow(3))
		}
		return errorToken(50000, "fake: unexpected request "+req.sql)
	}))
	c := openFake(t, s)
	rs, err := c.Sample(context.Background(), providers.SampleRequest{Table: providers.TableRef{Schema: "dbo", Table: "orders"}, Limits: providers.RowLimits{MaxRows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	wantSession(t, s.log(), "SELECT TOP (@p1) * FROM [dbo].[Orders]")
	var types []string
	for _, col := range rs.Columns {
		types = append(types, col.Name+" "+col.DataType)
	}
	wantTypes := []string{"id int", "big bigint", "name nvarchar(40)", "notes nvarchar(max)", "price decimal(10,2)", "ratio float", "active bit",
		"guid uniqueidentifier", "blob varbinary(16)", "day date", "at datetime2(7)", "cash money"}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("columns = %v", types)
	}
	got, _ := json.Marshal(rs.Rows)
	want := `[[1,"9007199254740993","Ørder 1","long text","12.50",1.5,true,"6F9619FF-8B86-D011-B42D-00C04FC964FF","AQID","2024-01-31","2024-01-31T10:20:30.1234567Z","12.5000"],` +
		`[2,"9007199254740993","Ørder 2",null,null,null,null,null,null,null,null,null]]`
	if string(got) != want || !rs.Truncated {
		t.Errorf("rows = %s truncated=%v\nwant %s", got, rs.Truncated, want)
	}

	// A table the catalog does not know: not found, and nothing else runs.
	before := len(s.log())
	_, err = c.Sample(context.Background(), providers.SampleRequest{Table: providers.TableRef{Schema: "dbo", Table: "x]; DROP TABLE t; --"}, Limits: providers.RowLimits{MaxRows: 2}})
	providertest.WantCode(t, err, providers.CodeNotFound)
	if log := s.log(); len(log) != before+1 {
		t.Errorf("requests after the lookup: %+v", log[before:])
	}
}

func TestQuery(t *testing.T) {
	const stmt = "WITH recent AS (SELECT * FROM Sales.Orders WHERE day > '2024-01-01') SELECT r.id, c.name FROM recent r JOIN [dbo].[Customers] c ON c.id = r.customer;"
	s := newTDSServer(t, session(func(req tdsRequest) []byte {
		if !req.rpc && req.sql == stmt+"\n" {
			rows := [][]any{}
			for i := range 10 {
				rows = append(rows, []any{int64(i), "c" + strconv.Itoa(i)})
			}
			return resultSet([]tdsCol{{"id", "int"}, {"name", "nvarchar(40)"}}, rows...)
		}
		return errorToken(50000, "fake: unexpected request "+req.sql)
	}))
	c := openFake(t, s)
	res, err := c.Query(context.Background(), providers.QueryRequest{SQL: stmt, Limits: providers.RowLimits{MaxRows: 20}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ms := wantSession(t, s.log(), stmt+"\n"); ms < 8000 || ms > 9000 {
		t.Errorf("lock timeout = %d ms, want about 9000", ms)
	}
	if len(res.Rows) != 10 || res.Truncated || res.Columns[1].DataType != "nvarchar(40)" {
		t.Errorf("rows = %d truncated = %v columns = %+v", len(res.Rows), res.Truncated, res.Columns)
	}
	wantRefs := []providers.TableRef{{Schema: "Sales", Table: "Orders"}, {Schema: "dbo", Table: "Customers"}}
	if !reflect.DeepEqual(res.TableRefs, wantRefs) {
		t.Errorf("table refs = %+v", res.TableRefs)
	}

	// Cut at 3 rows: the rest is not read, the transaction is still rolled
	// back, and the connection is reused afterwards.
	res, err = c.Query(context.Background(), providers.QueryRequest{SQL: stmt, Limits: providers.RowLimits{MaxRows: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || !res.Truncated {
		t.Errorf("rows = %d truncated = %v", len(res.Rows), res.Truncated)
	}
	wantSession(t, s.log(), stmt+"\n")
	if _, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT 1", Limits: providers.RowLimits{MaxRows: 3}}); err == nil {
		t.Error("the fake answers SELECT 1 with an error")
	}
	if n := s.connCount(); n != 1 {
		t.Errorf("connections = %d, want the one pooled", n)
	}
}

func TestQueryRefusedSendsNothing(t *testing.T) {
	s := newTDSServer(t, session(func(req tdsRequest) []byte { return done(0) }))
	c := openFake(t, s)
	for _, q := range []string{"DELETE FROM t", "SELECT 1; DROP TABLE t", "EXEC sp_who", "SELECT * INTO x FROM t"} {
		_, err := c.Query(context.Background(), providers.QueryRequest{SQL: q, Limits: providers.RowLimits{MaxRows: 1}})
		providertest.WantCode(t, err, providers.CodeRefused)
	}
	if log := s.log(); len(log) != 0 {
		t.Errorf("requests = %+v", log)
	}
}

func TestQueryErrors(t *testing.T) {
	const secret = "pw-123456"
	tests := []struct {
		name     string
		answer   []byte
		code     providers.Code
		contains string
	}{
		{"unknown column", errorToken(207, "Invalid column name 'nope'."), providers.CodeQueryFailed, "Invalid column name 'nope'."},
		{"permission", errorToken(229, "The SELECT permission was denied on the object 'salaries', database 'sales', schema 'dbo'."), providers.CodeQueryFailed, "SELECT permission was denied"},
		{"echoes the password", errorToken(245, "Conversion failed when converting the nvarchar value '"+secret+"' to data type int."), providers.CodeQueryFailed, "Conversion failed"},
		{"lock timeout", errorToken(1222, "Lock request time out period exceeded."), providers.CodeTimeout, "waited too long for a lock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTDSServer(t, session(func(req tdsRequest) []byte { return tc.answer }))
			c := openFake(t, s)
			_, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT nope FROM t", Limits: providers.RowLimits{MaxRows: 1}})
			pe := providertest.WantCode(t, err, tc.code)
			if !strings.Contains(pe.Message, tc.contains) || strings.Contains(pe.Message, secret) {
				t.Errorf("message = %q", pe.Message)
			}
			wantSession(t, s.log(), "SELECT nope FROM t\n")
		})
	}
}

// TestQueryDeadline leaves the statement running: the deadline cancels it
// with an attention and the answer is a timeout. go-mssqldb then takes the
// connection for broken, so it is closed (SQL Server rolls back what the
// session left open) and the next statement runs on a new one.
func TestQueryDeadline(t *testing.T) {
	s := newTDSServer(t, session(func(req tdsRequest) []byte {
		if req.sql == "SELECT * FROM big\n" {
			return nil
		}
		return resultSet([]tdsCol{{"n", "int"}}, []any{int64(1)})
	}))
	c := openFake(t, s)
	_, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT * FROM big", Limits: providers.RowLimits{MaxRows: 1}, Timeout: 300 * time.Millisecond})
	providertest.WantCode(t, err, providers.CodeTimeout)
	if _, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT 1 AS n", Limits: providers.RowLimits{MaxRows: 1}}); err != nil {
		t.Fatal(err)
	}
	log := s.log()
	wantSession(t, log, "SELECT 1 AS n\n")
	if log[1].sql != "SELECT * FROM big\n" || log[1].conn != 1 || log[len(log)-1].conn != 2 {
		t.Errorf("requests = %+v", log)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		attns, closed := s.attns, s.closed
		s.mu.Unlock()
		if closed == 1 && attns == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attentions = %d, closed connections = %d; want 1 and 1", attns, closed)
		}
	}
}

// TestRollbackFailureDiscardsConnection: a connection whose ROLLBACK fails
// is not given back to the pool; the next statement opens another.
func TestRollbackFailureDiscardsConnection(t *testing.T) {
	s := newTDSServer(t, func(req tdsRequest) []byte {
		switch {
		case strings.HasPrefix(req.sql, "SET LOCK_TIMEOUT "):
			return done(0)
		case req.sql == rollbackSQL && req.conn == 1:
			return errorToken(3903, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.")
		case req.sql == rollbackSQL:
			return done(0)
		}
		return resultSet([]tdsCol{{"n", "int"}}, []any{int64(1)})
	})
	c := openFake(t, s)
	for range 2 {
		if _, err := c.Query(context.Background(), providers.QueryRequest{SQL: "SELECT 1 AS n", Limits: providers.RowLimits{MaxRows: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	log := s.log()
	if last := log[len(log)-1]; last.conn != 2 || s.connCount() != 2 {
		t.Errorf("the second statement ran on connection %d of %d, want a new one", last.conn, s.connCount())
	}
}

func TestValue(t *testing.T) {
	at := time.Date(2024, 2, 29, 23, 59, 58, 100, time.FixedZone("", 2*3600))
	tests := []struct {
		kind string
		in   any
		want string
	}{
		{"DECIMAL", []byte("-0.0001"), `"-0.0001"`},
		{"MONEY", []byte("922337203685477.5807"), `"922337203685477.5807"`},
		{"DATE", at, `"2024-02-29"`},
		{"TIME", time.Date(1, 1, 1, 7, 8, 9, 120000000, time.UTC), `"07:08:09.12"`},
		{"DATETIMEOFFSET", at, `"2024-02-29T23:59:58.0000001+02:00"`},
		{"VARBINARY", []byte{0xFF}, `"/w=="`},
		{"BIGINT", int64(-9007199254740993), `"-9007199254740993"`},
		{"NVARCHAR", "x", `"x"`},
		{"INT", nil, `null`},
	}
	for _, tc := range tests {
		got, err := providers.MarshalValue(value(tc.kind, tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("value(%s, %v) = %s, %v; want %s", tc.kind, tc.in, got, err, tc.want)
		}
	}
}
