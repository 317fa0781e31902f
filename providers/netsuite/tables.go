package netsuite

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.TableLister  = (*conn)(nil)
	_ providers.ColumnLister = (*conn)(nil)
)

// schema is the one schema of a NetSuite connection: every record type of
// the metadata catalog is a table in it (NetSuite has no namespace above the
// record type), so the schema names what the tables are.
const schema = "records"

// catalogPath is the REST metadata catalog.
const catalogPath = "/services/rest/record/v1/metadata-catalog"

// describeConcurrency bounds the record schemas ListColumns reads at once
// (NetSuite's concurrency pool is shared by the whole account).
const describeConcurrency = 4

// ListTables lists the record types of the metadata catalog
// (GET /services/rest/record/v1/metadata-catalog), ordered by name.
func (c *conn) ListTables(ctx context.Context, req providers.ListTablesRequest) (*providers.TableList, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	out := &providers.TableList{Tables: []providers.Table{}}
	if req.Schema != "" && req.Schema != schema {
		return out, nil
	}
	names, err := c.recordTypes(ctx)
	if err != nil {
		return nil, err
	}
	search := strings.ToLower(req.Search)
	for _, n := range names {
		if search == "" || strings.Contains(strings.ToLower(n), search) || strings.Contains(schema, search) {
			out.Tables = append(out.Tables, providers.Table{Schema: schema, Table: n, Spec: n, Kind: providers.TableKindObject})
		}
	}
	return out, nil
}

// recordTypes are the record type names of the metadata catalog, sorted.
func (c *conn) recordTypes(ctx context.Context) ([]string, error) {
	var catalog struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := c.api.JSON(ctx, providers.Call{Path: catalogPath, What: "the metadata catalog"}, &catalog); err != nil {
		return nil, err
	}
	var names []string
	for _, it := range catalog.Items {
		if providers.ValidName(it.Name) {
			names = append(names, it.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// ListColumns reads the JSON Schema of each requested record type
// (GET metadata-catalog/{record} with Accept: application/schema+json), at
// most four at a time. A record type the catalog does not have (404), or a
// table outside the "records" schema, is absent from the result.
func (c *conn) ListColumns(ctx context.Context, req providers.ListColumnsRequest) (*providers.ColumnSets, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	var refs []providers.TableRef
	seen := map[providers.TableRef]bool{}
	for _, ref := range req.Tables {
		if ref.Schema == schema && providers.ValidName(ref.Table) && !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	cols := make([][]providers.Column, len(refs))
	err := providers.ForEach(ctx, len(refs), describeConcurrency, func(ctx context.Context, i int) error {
		var err error
		cols[i], err = c.recordColumns(ctx, refs[i].Table)
		if providers.IsCode(err, providers.CodeNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, providers.Classify(name, err)
	}
	out := &providers.ColumnSets{Tables: make(map[providers.TableRef][]providers.Column, len(refs))}
	for i, ref := range refs {
		if cols[i] != nil {
			out.Tables[ref] = cols[i]
		}
	}
	return out, nil
}

// recordColumns reads a record type's JSON Schema: its properties in order,
// dataType the JSON type with its format after a slash (string/date-time),
// nullable from "nullable" or, without it, from not being required, and
// "id" the primary key.
func (c *conn) recordColumns(ctx context.Context, record string) ([]providers.Column, error) {
	var raw json.RawMessage
	call := providers.Call{
		Path:   catalogPath + "/" + record,
		Header: http.Header{"Accept": {"application/schema+json"}},
		What:   "the record type " + record,
	}
	if err := c.api.JSON(ctx, call, &raw); err != nil {
		return nil, err
	}
	var doc struct {
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Properties) == 0 {
		return nil, providers.Errorf(providers.CodeProviderError, "netsuite: the schema of %s was not the JSON Schema expected", record)
	}
	keys, vals, err := providers.DecodeOrderedObject(doc.Properties)
	if err != nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "netsuite: the schema of %s was not the JSON Schema expected", record)
	}
	cols := make([]providers.Column, len(keys))
	for i, k := range keys {
		var p struct {
			Type     json.RawMessage `json:"type"`
			Format   string          `json:"format"`
			Nullable *bool           `json:"nullable"`
			Ref      string          `json:"$ref"`
		}
		_ = json.Unmarshal(vals[i], &p)
		typ, nullType := schemaType(p.Type)
		if typ == "" && p.Ref != "" {
			typ = "object"
		}
		if p.Format != "" {
			typ += "/" + p.Format
		}
		nullable := nullType || !slices.Contains(doc.Required, k)
		if p.Nullable != nil {
			nullable = *p.Nullable
		}
		cols[i] = providers.Column{Name: k, DataType: typ, Nullable: nullable, PrimaryKey: k == "id"}
	}
	return cols, nil
}

// schemaType reads a JSON Schema "type": a name, or a list of names of
// which "null" makes the property nullable.
func schemaType(raw json.RawMessage) (typ string, null bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one, one == "null"
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	for _, t := range many {
		if t == "null" {
			null = true
		} else if typ == "" {
			typ = t
		}
	}
	return typ, null
}
