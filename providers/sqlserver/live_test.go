package sqlserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// TestSchemaAndQueryLive runs the schema and query capabilities against a
// real SQL Server when JUNCTION_TEST_SQLSERVER_URL is set. It reads only the
// catalog views every database has and writes nothing.
func TestSchemaAndQueryLive(t *testing.T) {
	settings, password := liveSettings(t)
	c := openConn(t, settings, map[string]string{"password": password}, nil)
	ctx := context.Background()

	t.Run("tables", func(t *testing.T) {
		list, err := c.ListTables(ctx, providers.ListTablesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range list.Tables {
			if tb.Schema == "sys" || tb.Schema == "INFORMATION_SCHEMA" {
				t.Errorf("system table without includeSystem: %+v", tb)
			}
		}
		list, err = c.ListTables(ctx, providers.ListTablesRequest{IncludeSystem: true, Schema: "INFORMATION_SCHEMA", Search: "tables"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tb := range list.Tables {
			found = found || (tb.Table == "TABLES" && tb.Kind == providers.TableKindView && tb.Spec == "[INFORMATION_SCHEMA].[TABLES]")
		}
		if !found {
			t.Errorf("INFORMATION_SCHEMA.TABLES not listed: %+v", list.Tables)
		}
	})

	t.Run("columns", func(t *testing.T) {
		tables := providers.TableRef{Schema: "INFORMATION_SCHEMA", Table: "TABLES"}
		objects := providers.TableRef{Schema: "sys", Table: "objects"}
		sets, err := c.ListColumns(ctx, providers.ListColumnsRequest{Tables: []providers.TableRef{tables, objects, {Schema: "dbo", Table: "no_such_table_junction"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(sets.Tables) != 2 {
			t.Fatalf("tables = %v", sets.Tables)
		}
		if cols := sets.Tables[tables]; len(cols) == 0 || cols[0].Name != "TABLE_CATALOG" || cols[0].DataType != "nvarchar(128)" || !cols[0].Nullable {
			t.Errorf("INFORMATION_SCHEMA.TABLES columns = %+v", cols)
		}
		if cols := sets.Tables[objects]; len(cols) == 0 || cols[0].Name != "name" || cols[0].DataType != "nvarchar(128)" || cols[0].Nullable {
			t.Errorf("sys.objects columns = %+v", cols)
		}
	})

	t.Run("sample", func(t *testing.T) {
		rs, err := c.Sample(ctx, providers.SampleRequest{Table: providers.TableRef{Schema: "INFORMATION_SCHEMA", Table: "COLUMNS"}, Limits: providers.RowLimits{MaxRows: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs.Rows) != 2 || !rs.Truncated || rs.Columns[0].Name != "TABLE_CATALOG" {
			t.Errorf("sample = %d rows, truncated %v, columns %+v", len(rs.Rows), rs.Truncated, rs.Columns)
		}
		_, err = c.Sample(ctx, providers.SampleRequest{Table: providers.TableRef{Schema: "dbo", Table: "no_such_table_junction"}, Limits: providers.RowLimits{MaxRows: 2}})
		providertest.WantCode(t, err, providers.CodeNotFound)
	})

	t.Run("values", func(t *testing.T) {
		res, err := c.Query(ctx, providers.QueryRequest{SQL: `SELECT CAST(12.50 AS decimal(10,2)) AS d, N'Ünï' AS s, CAST(NULL AS int) AS n,
			CAST('6F9619FF-8B86-D011-B42D-00C04FC964FF' AS uniqueidentifier) AS g, CAST('2024-01-31' AS date) AS dt,
			CAST('2024-01-31T10:20:30.1234567' AS datetime2(7)) AS ts, CAST(0x0102 AS varbinary(2)) AS b,
			CAST(9007199254740993 AS bigint) AS big, CAST(1 AS bit) AS t, CAST(12.5 AS money) AS m, @@TRANCOUNT AS tc,
			CASE WHEN @@LOCK_TIMEOUT > 0 THEN 1 ELSE 0 END AS lt`, Limits: providers.RowLimits{MaxRows: 10}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(res.Rows)
		want := `[["12.50","Ünï",null,"6F9619FF-8B86-D011-B42D-00C04FC964FF","2024-01-31","2024-01-31T10:20:30.1234567Z","AQI=","9007199254740993",true,"12.5000",1,1]]`
		if string(got) != want {
			t.Errorf("rows = %s\nwant %s", got, want)
		}
		var types []string
		for _, col := range res.Columns {
			types = append(types, col.DataType)
		}
		if strings.Join(types, " ") != "decimal(10,2) nvarchar(3) int uniqueidentifier date datetime2(7) varbinary(2) bigint bit money int int" {
			t.Errorf("types = %v", types)
		}
	})

	t.Run("refs and errors", func(t *testing.T) {
		res, err := c.Query(ctx, providers.QueryRequest{SQL: "SELECT TOP 1 o.name FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id", Limits: providers.RowLimits{MaxRows: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if refsString(res.TableRefs) != "sys.objects, sys.schemas" {
			t.Errorf("refs = %v", res.TableRefs)
		}
		_, err = c.Query(ctx, providers.QueryRequest{SQL: "SELECT nope_junction FROM sys.objects", Limits: providers.RowLimits{MaxRows: 1}})
		if pe := providertest.WantCode(t, err, providers.CodeQueryFailed); !strings.Contains(pe.Message, "nope_junction") {
			t.Errorf("message = %q", pe.Message)
		}
		_, err = c.Query(ctx, providers.QueryRequest{SQL: "SELECT 1; DROP TABLE x", Limits: providers.RowLimits{MaxRows: 1}})
		providertest.WantCode(t, err, providers.CodeRefused)
	})
}
