package sqlserver

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
)

func openFake(t *testing.T, s *tdsServer) *conn {
	t.Helper()
	return openConn(t, s.settings(), map[string]string{"password": "pw-123456"}, nil)
}

func TestCapabilities(t *testing.T) {
	if got := (Driver{}).Spec().Capabilities; !reflect.DeepEqual(got, []string{"verify", "schema", "query"}) {
		t.Errorf("capabilities = %v", got)
	}
}

func TestListTables(t *testing.T) {
	cols := []tdsCol{{"schema", "nvarchar(128)"}, {"name", "nvarchar(128)"}, {"type", "nvarchar(2)"}}
	s := newTDSServer(t, func(req tdsRequest) []byte {
		if !req.rpc || req.sql != tablesSQL || len(req.args) != 3 {
			return errorToken(50000, "fake: unexpected request "+req.sql)
		}
		return resultSet(cols,
			[]any{"dbo", "Orders", "U "},
			[]any{"dbo", "v_orders", "V "},
			[]any{"ext", "remote_sales", "ET"},
			[]any{"Sales", "Order]Lines", "U "},
		)
	})
	c := openFake(t, s)
	list, err := c.ListTables(context.Background(), providers.ListTablesRequest{IncludeSystem: true, Schema: "dbo", Search: "Ord"})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Table{
		{Schema: "dbo", Table: "Orders", Spec: "[dbo].[Orders]", Kind: "table"},
		{Schema: "dbo", Table: "v_orders", Spec: "[dbo].[v_orders]", Kind: "view"},
		{Schema: "ext", Table: "remote_sales", Spec: "[ext].[remote_sales]", Kind: "foreign_table"},
		{Schema: "Sales", Table: "Order]Lines", Spec: "[Sales].[Order]]Lines]", Kind: "table"},
	}
	if !reflect.DeepEqual(list.Tables, want) {
		t.Errorf("tables\n got %+v\nwant %+v", list.Tables, want)
	}
	if args := s.log()[0].args; !reflect.DeepEqual(args, []any{true, "dbo", "Ord"}) {
		t.Errorf("args = %#v", args)
	}

	// The defaults: no system objects, no filters.
	if _, err := c.ListTables(context.Background(), providers.ListTablesRequest{}); err != nil {
		t.Fatal(err)
	}
	if args := s.log()[1].args; !reflect.DeepEqual(args, []any{false, "", ""}) {
		t.Errorf("args = %#v", args)
	}
}

func TestListTablesError(t *testing.T) {
	s := newTDSServer(t, func(req tdsRequest) []byte {
		return errorToken(229, "The SELECT permission was denied on the object 'all_objects', database 'mssqlsystemresource', schema 'sys'.")
	})
	_, err := openFake(t, s).ListTables(context.Background(), providers.ListTablesRequest{})
	if pe, ok := err.(*providers.Error); !ok || pe.Code != providers.CodePermissionDenied {
		t.Fatalf("got %v, want permission_denied", err)
	}
}

var columnCols = []tdsCol{{"i", "int"}, {"name", "nvarchar(128)"}, {"type", "nvarchar(128)"}, {"max_length", "int"},
	{"precision", "int"}, {"scale", "int"}, {"is_nullable", "bit"}, {"pk", "bit"}}

func TestListColumns(t *testing.T) {
	s := newTDSServer(t, func(req tdsRequest) []byte {
		if !req.rpc || req.sql != fmt.Sprintf(columnsSQL, "(0, @p1, @p2), (1, @p3, @p4), (2, @p5, @p6)") {
			return errorToken(50000, "fake: unexpected request "+req.sql)
		}
		return resultSet(columnCols,
			[]any{int64(0), "id", "int", int64(4), int64(10), int64(0), false, true},
			[]any{int64(0), "line", "smallint", int64(2), int64(5), int64(0), false, true},
			[]any{int64(0), "name", "nvarchar", int64(510), int64(0), int64(0), true, false},
			[]any{int64(0), "price", "decimal", int64(9), int64(10), int64(2), true, false},
			[]any{int64(0), "notes", "nvarchar", int64(-1), int64(0), int64(0), true, false},
			[]any{int64(0), "code", "char", int64(3), int64(0), int64(0), true, false},
			[]any{int64(0), "created", "datetime2", int64(8), int64(27), int64(7), false, false},
			[]any{int64(0), "shape", "geography", int64(-1), int64(0), int64(0), true, false},
			[]any{int64(2), "blob", "varbinary", int64(-1), int64(0), int64(0), true, false},
		)
	})
	c := openFake(t, s)
	orders := providers.TableRef{Schema: "dbo", Table: "Orders"}
	missing := providers.TableRef{Schema: "dbo", Table: "Nope"}
	view := providers.TableRef{Schema: "Sales", Table: "Order]Lines"}
	sets, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: []providers.TableRef{orders, missing, orders, view}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[providers.TableRef][]providers.Column{
		orders: {
			{Name: "id", DataType: "int", PrimaryKey: true},
			{Name: "line", DataType: "smallint", PrimaryKey: true},
			{Name: "name", DataType: "nvarchar(255)", Nullable: true},
			{Name: "price", DataType: "decimal(10,2)", Nullable: true},
			{Name: "notes", DataType: "nvarchar(max)", Nullable: true},
			{Name: "code", DataType: "char(3)", Nullable: true},
			{Name: "created", DataType: "datetime2(7)"},
			{Name: "shape", DataType: "geography", Nullable: true},
		},
		view: {{Name: "blob", DataType: "varbinary(max)", Nullable: true}},
	}
	if !reflect.DeepEqual(sets.Tables, want) {
		t.Errorf("columns\n got %+v\nwant %+v", sets.Tables, want)
	}
	log := s.log()
	if len(log) != 1 || !reflect.DeepEqual(log[0].args, []any{"dbo", "Orders", "dbo", "Nope", "Sales", "Order]Lines"}) {
		t.Errorf("requests = %+v", log)
	}
}

// TestListColumnsBatches: 501 tables take two catalog queries, 500 and 1.
func TestListColumnsBatches(t *testing.T) {
	s := newTDSServer(t, func(req tdsRequest) []byte {
		n := len(req.args) / 2
		if !req.rpc || !strings.Contains(req.sql, fmt.Sprintf("(%d, @p%d, @p%d)) AS r", n-1, 2*n-1, 2*n)) {
			return errorToken(50000, "fake: unexpected request")
		}
		return resultSet(columnCols, []any{int64(n - 1), "id", "int", int64(4), int64(10), int64(0), false, true})
	})
	var refs []providers.TableRef
	for i := range 501 {
		refs = append(refs, providers.TableRef{Schema: "dbo", Table: fmt.Sprintf("t%d", i)})
	}
	sets, err := openFake(t, s).ListColumns(context.Background(), providers.ListColumnsRequest{Tables: refs})
	if err != nil {
		t.Fatal(err)
	}
	log := s.log()
	if len(log) != 2 || len(log[0].args) != 1000 || len(log[1].args) != 2 {
		t.Fatalf("%d requests", len(log))
	}
	if len(sets.Tables) != 2 || sets.Tables[refs[499]] == nil || sets.Tables[refs[500]] == nil {
		t.Errorf("tables = %v", sets.Tables)
	}
}

func TestTypeName(t *testing.T) {
	tests := []struct {
		name                     string
		maxLen, precision, scale int
		want                     string
	}{
		{"nvarchar", 510, 0, 0, "nvarchar(255)"},
		{"NVARCHAR", -1, 0, 0, "nvarchar(max)"},
		{"nchar", 20, 0, 0, "nchar(10)"},
		{"varchar", 8000, 0, 0, "varchar(8000)"},
		{"varbinary", -1, 0, 0, "varbinary(max)"},
		{"binary", 16, 0, 0, "binary(16)"},
		{"decimal", 9, 10, 2, "decimal(10,2)"},
		{"numeric", 17, 38, 0, "numeric(38,0)"},
		{"datetime2", 8, 27, 7, "datetime2(7)"},
		{"time", 5, 16, 7, "time(7)"},
		{"datetimeoffset", 10, 34, 3, "datetimeoffset(3)"},
		{"float", 8, 53, 0, "float"},
		{"int", 4, 10, 0, "int"},
		{"uniqueidentifier", 16, 0, 0, "uniqueidentifier"},
		{"hierarchyid", 892, 0, 0, "hierarchyid"},
	}
	for _, tc := range tests {
		if got := typeName(tc.name, tc.maxLen, tc.precision, tc.scale); got != tc.want {
			t.Errorf("typeName(%s, %d, %d, %d) = %s, want %s", tc.name, tc.maxLen, tc.precision, tc.scale, got, tc.want)
		}
	}
}
