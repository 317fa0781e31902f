package flat

import (
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/junctionhq/junction/graph/model"
)

var schemaTableKinds = map[string]kind{
	"__typename":     kTypename,
	"schema":         kTableSchema,
	"table":          kTableTable,
	"normalizedName": kTableNormalizedName,
	"spec":           kTableSpec,
	"kind":           kTableKind,
	"columns":        kTableColumns,
}

var schemaColumnKinds = map[string]kind{
	"__typename":     kTypename,
	"name":           kColumnName,
	"normalizedName": kColumnNormalizedName,
	"dataType":       kColumnDataType,
	"nullable":       kColumnNullable,
	"primaryKey":     kColumnPrimaryKey,
}

// answerTables returns the marshaler of a schema tree, or tables itself to
// leave them to gqlgen: a selection Encoder does not write, or a nil table
// or column, which gqlgen reports as an error.
func (e Encoder) answerTables(oc *graphql.OperationContext, fc *graphql.FieldContext, tables []*model.SchemaTable) any {
	cols, ok := columns(oc, fc.Field.Selections, "SchemaTable", schemaTableKinds)
	if !ok || tables == nil { // a nil list is null, which gqlgen writes
		return tables
	}
	for _, t := range tables {
		if t == nil {
			return tables
		}
		for _, c := range t.Columns {
			if c == nil {
				return tables
			}
		}
	}
	if e.Answered != nil {
		e.Answered(fc.Object + "." + fc.Field.Name)
	}
	return tableRows{cols: cols, tables: tables}
}

// tableRows writes a schema tree.
type tableRows struct {
	cols   []column
	tables []*model.SchemaTable
}

func (r tableRows) MarshalGQL(w io.Writer) {
	b := make([]byte, 0, 128+512*len(r.tables))
	b = append(b, '[')
	for i, t := range r.tables {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTable(b, r.cols, t)
	}
	w.Write(append(b, ']'))
}

func appendTable(b []byte, cols []column, t *model.SchemaTable) []byte {
	b = append(b, '{')
	for i, col := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.key...)
		switch col.kind {
		case kTypename:
			b = append(b, `"SchemaTable"`...)
		case kTableSchema:
			b = appendString(b, t.Schema)
		case kTableTable:
			b = appendString(b, t.Table)
		case kTableNormalizedName:
			b = appendString(b, t.NormalizedName)
		case kTableSpec:
			b = appendString(b, t.Spec)
		case kTableKind:
			b = appendEnum(b, string(t.Kind), t.Kind)
		case kTableColumns:
			b = append(b, '[')
			for j, c := range t.Columns {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendColumn(b, col.sub, c)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

func appendColumn(b []byte, cols []column, c *model.SchemaColumn) []byte {
	b = append(b, '{')
	for i, col := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.key...)
		switch col.kind {
		case kTypename:
			b = append(b, `"SchemaColumn"`...)
		case kColumnName:
			b = appendString(b, c.Name)
		case kColumnNormalizedName:
			b = appendString(b, c.NormalizedName)
		case kColumnDataType:
			b = appendString(b, c.DataType)
		case kColumnNullable:
			b = strconv.AppendBool(b, c.Nullable)
		case kColumnPrimaryKey:
			b = strconv.AppendBool(b, c.PrimaryKey)
		}
	}
	return append(b, '}')
}
