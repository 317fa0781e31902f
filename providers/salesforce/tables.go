package salesforce

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.TableLister  = (*conn)(nil)
	_ providers.ColumnLister = (*conn)(nil)
)

// schema is the one schema of a Salesforce connection: every queryable
// sObject is a table in it. The REST API has no namespace above the object
// (a managed package's prefix is part of the name), so the schema names what
// the tables are.
const schema = "sobjects"

// describeConcurrency bounds the describe calls ListColumns runs at once.
const describeConcurrency = 4

// ListTables lists the queryable sObjects (describeGlobal,
// GET /services/data/vXX.X/sobjects), ordered by name.
func (c *conn) ListTables(ctx context.Context, req providers.ListTablesRequest) (*providers.TableList, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	out := &providers.TableList{Tables: []providers.Table{}}
	if req.Schema != "" && req.Schema != schema {
		return out, nil
	}
	var global struct {
		SObjects []struct {
			Name      string `json:"name"`
			Queryable bool   `json:"queryable"`
		} `json:"sobjects"`
	}
	if err := c.api.JSON(ctx, providers.Call{Path: c.path("/sobjects"), What: "the sObject list"}, &global); err != nil {
		return nil, err
	}
	search := strings.ToLower(req.Search)
	for _, o := range global.SObjects {
		if !o.Queryable || !providers.ValidName(o.Name) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(o.Name), search) && !strings.Contains(schema, search) {
			continue
		}
		out.Tables = append(out.Tables, providers.Table{Schema: schema, Table: o.Name, Spec: o.Name, Kind: providers.TableKindObject})
	}
	slices.SortFunc(out.Tables, func(a, b providers.Table) int { return strings.Compare(a.Table, b.Table) })
	return out, nil
}

// ListColumns describes each requested sObject (GET sobjects/{name}/describe),
// at most four at a time. An sObject that does not exist, is not queryable or
// is not in the "sobjects" schema is absent from the result.
func (c *conn) ListColumns(ctx context.Context, req providers.ListColumnsRequest) (*providers.ColumnSets, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	var refs []providers.TableRef
	for _, ref := range uniqueRefs(req.Tables) {
		if ref.Schema == schema && providers.ValidName(ref.Table) {
			refs = append(refs, ref)
		}
	}
	cols := make([][]providers.Column, len(refs))
	err := providers.ForEach(ctx, len(refs), describeConcurrency, func(ctx context.Context, i int) error {
		d, err := c.describe(ctx, refs[i].Table)
		if err != nil && !providers.IsCode(err, providers.CodeNotFound) {
			return err
		}
		if d != nil {
			cols[i] = d.columns()
		}
		return nil
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

func uniqueRefs(refs []providers.TableRef) []providers.TableRef {
	seen := make(map[providers.TableRef]bool, len(refs))
	var out []providers.TableRef
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// sobject is the part of an sObject describe the schema uses.
type sobject struct {
	Name      string  `json:"name"`
	Queryable bool    `json:"queryable"`
	Fields    []field `json:"fields"`
}

// field is one describe field.
type field struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Nillable  bool   `json:"nillable"`
	Length    int    `json:"length"`
	Precision int    `json:"precision"`
	Scale     int    `json:"scale"`
}

// describe returns the describe of a queryable sObject; one that does not
// exist or cannot be queried is CodeNotFound.
func (c *conn) describe(ctx context.Context, object string) (*sobject, error) {
	var d sobject
	err := c.api.JSON(ctx, providers.Call{Path: c.path("/sobjects/" + object + "/describe"), What: "the sObject " + object}, &d)
	if err != nil {
		return nil, err
	}
	if !d.Queryable || !providers.ValidName(d.Name) {
		return nil, providers.Errorf(providers.CodeNotFound, "salesforce: the sObject %s cannot be queried", object)
	}
	return &d, nil
}

// columns are the sObject's fields in describe order.
func (d *sobject) columns() []providers.Column {
	cols := make([]providers.Column, len(d.Fields))
	for i, f := range d.Fields {
		cols[i] = f.column()
	}
	return cols
}

func (f field) column() providers.Column {
	return providers.Column{Name: f.Name, DataType: f.dataType(), Nullable: f.Nillable, PrimaryKey: f.Type == "id"}
}

// dataType is the describe type, with the length of text types
// (string(255)) and the precision and scale of decimal numbers
// (currency(18,2)).
func (f field) dataType() string {
	switch f.Type {
	case "string", "textarea", "url", "email", "phone", "picklist", "multipicklist", "combobox", "encryptedstring":
		if f.Length > 0 {
			return fmt.Sprintf("%s(%d)", f.Type, f.Length)
		}
	case "double", "currency", "percent":
		if f.Precision > 0 {
			return fmt.Sprintf("%s(%d,%d)", f.Type, f.Precision, f.Scale)
		}
	}
	return f.Type
}

// compound reports whether a field is a compound address or geolocation
// field, which SOQL returns as an object and which the field list of a
// sample leaves out (its components are fields of their own).
func (f field) compound() bool {
	return f.Type == "address" || f.Type == "location"
}
