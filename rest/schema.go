package rest

import (
	"net/http"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/resolvers"
)

// tablesParams are GET .../schema/tables's query parameters in the
// endpoint's order (include_system is an alias of includeSystem).
var tablesParams = []string{"includeSystem", "include_system", "schema", "search"}

// schemaTablesBody is GET .../schema/tables.
type schemaTablesBody struct {
	Tables []*model.SchemaTable `json:"tables"`
}

// schemaTables serves GET /connections/{connection_id}/schema/tables.
func (h *handler) schemaTables(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	q := query{values: r.URL.Query()}
	ti := resolvers.TablesInput{Schema: q.optStr("schema"), Search: q.optStr("search")}
	if b := q.bool(&p, "includeSystem", "include_system"); b != nil {
		ti.IncludeSystem = *b
	}
	if p.any() {
		h.invalid(w, r, &p, tablesParams)
		return
	}
	tables, err := h.res.SchemaTables(r.Context(), id, ti)
	if err != nil {
		h.fail(w, r, err, in("query", pathID), tablesParams)
		return
	}
	if tables == nil {
		tables = []*model.SchemaTable{}
	}
	WriteJSON(w, http.StatusOK, schemaTablesBody{Tables: tables})
}

// columnsParams are GET .../schema/columns's query parameters in order.
var columnsParams = []string{"schema", "table"}

// schemaColumns serves GET /connections/{connection_id}/schema/columns: one
// table's columns in catalog order, 404 when the table does not exist.
func (h *handler) schemaColumns(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	q := query{values: r.URL.Query()}
	schema := q.requiredStr("schema", &p)
	table := q.requiredStr("table", &p)
	if p.any() {
		h.invalid(w, r, &p, columnsParams)
		return
	}
	cols, err := h.res.SchemaColumns(r.Context(), id, schema, table)
	switch {
	case err != nil:
		h.fail(w, r, err, in("query", pathID), columnsParams)
	case cols == nil:
		WriteJSON(w, http.StatusNotFound, errorBody{Detail: "Table not found", Code: string(resolvers.CodeNotFound)})
	default:
		if cols.Columns == nil {
			cols.Columns = []*model.SchemaColumn{}
		}
		WriteJSON(w, http.StatusOK, cols)
	}
}

// sampleTable serves POST /connections/{connection_id}/schema/sample: the
// first rows of a table.
func (h *handler) sampleTable(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	o, err := readBody(r, &p)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	sr := parseSample(o, &p)
	if p.any() {
		h.invalid(w, r, &p, sampleFields)
		return
	}
	res, err := h.res.SampleTable(r.Context(), id, sr.schema, sr.table, sr.maxRows)
	if err != nil {
		h.fail(w, r, err, in("body", pathID), sampleFields)
		return
	}
	if res.Columns == nil {
		res.Columns = []*model.SchemaColumn{}
	}
	if res.Rows == nil {
		res.Rows = []*model.Row{}
	}
	WriteJSON(w, http.StatusOK, res)
}

// runQuery serves POST /connections/{connection_id}/schema/query: one
// read-only statement.
func (h *handler) runQuery(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	o, err := readBody(r, &p)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	qr := parseQuery(o, &p)
	if p.any() {
		h.invalid(w, r, &p, queryFields)
		return
	}
	res, err := h.res.RunQuery(r.Context(), id, qr.sql, qr.maxRows)
	if err != nil {
		h.fail(w, r, err, in("body", pathID), queryFields)
		return
	}
	if res.Columns == nil {
		res.Columns = []string{}
	}
	if res.Rows == nil {
		res.Rows = []*model.Row{}
	}
	if res.TableRefs == nil {
		res.TableRefs = []*model.TableRef{}
	}
	WriteJSON(w, http.StatusOK, res)
}
