package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.Sampler = (*conn)(nil)
	_ providers.Querier = (*conn)(nil)
)

// maxSampleSOQL bounds a sample's SOQL. The statement travels in the URL and
// Salesforce refuses a URI over 16,384 bytes, so the field list of a very
// wide sObject is cut to the fields (in describe order) that fit.
const maxSampleSOQL = 12000

// Sample reads the first rows of a queryable sObject with
// SELECT <its fields> FROM <name> LIMIT maxRows+1. The field list comes from
// the describe, leaving out compound address and location fields (their
// components are fields of their own); an unknown sObject is CodeNotFound.
func (c *conn) Sample(ctx context.Context, req providers.SampleRequest) (*providers.RowSet, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	if req.Table.Schema != schema || !providers.ValidName(req.Table.Table) {
		return nil, providers.Errorf(providers.CodeNotFound, "salesforce: there is no sObject %q in schema %q", req.Table.Table, req.Table.Schema)
	}
	d, err := c.describe(ctx, req.Table.Table)
	if err != nil {
		return nil, err
	}
	var (
		names []string
		cols  []providers.Column
		size  = len("SELECT  FROM  LIMIT 1234567890") + len(d.Name)
	)
	for _, f := range d.Fields {
		if f.compound() || !providers.ValidName(f.Name) {
			continue
		}
		if size += len(f.Name) + 2; size > maxSampleSOQL {
			break
		}
		names = append(names, f.Name)
		cols = append(cols, f.column())
	}
	if len(names) == 0 {
		return nil, providers.Errorf(providers.CodeNotFound, "salesforce: the sObject %s has no field to sample", d.Name)
	}
	soql := fmt.Sprintf("SELECT %s FROM %s LIMIT %d", strings.Join(names, ", "), d.Name, max(req.Limits.MaxRows, 1)+1)
	return c.rows(ctx, soql, cols, req.Limits)
}

// Query runs one SOQL SELECT through GET /query, following nextRecordsUrl
// until the result is done or cut at MaxRows (or MaxBytes). Anything that
// does not start with SELECT is refused. Columns are the record keys in
// SELECT order (a relationship is one column holding its object as JSON);
// TableRefs are the FROM object and the objects of semi-join subqueries, in
// schema "sobjects", spelled as written. An error Salesforce raises for the
// statement (MALFORMED_QUERY, INVALID_FIELD, ...) is CodeQueryFailed with its
// message. Salesforce has no statement timeout: Timeout bounds the calls.
func (c *conn) Query(ctx context.Context, req providers.QueryRequest) (*providers.QueryResult, error) {
	stmt, err := parseSOQL(req.SQL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	if req.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, req.Timeout)
		defer cancelTimeout()
	}
	rs, err := c.rows(ctx, stmt.text, nil, req.Limits)
	if err != nil {
		return nil, err
	}
	if len(rs.Columns) == 0 {
		// No record to take the keys from: name them from the SELECT list.
		rs.Columns = stmt.columns
	}
	return &providers.QueryResult{RowSet: *rs, TableRefs: stmt.refs}, nil
}

// rows runs soql and collects its records under limits. cols, when set, are
// the columns (a sample's fields); otherwise they are the keys of the first
// record, in order.
func (c *conn) rows(ctx context.Context, soql string, cols []providers.Column, limits providers.RowLimits) (*providers.RowSet, error) {
	api := c.api
	api.Error = c.queryError
	// Ask for batches near the rows wanted (Salesforce takes 200 to 2,000).
	batch := min(max(limits.MaxRows+1, 200), 2000)
	header := http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(batch)}}
	call := providers.Call{Path: c.path("/query"), Query: url.Values{"q": {soql}}, Header: header}
	var b *providers.RowBuilder
	if cols != nil {
		b = providers.NewRowBuilder(cols, limits)
	}
	for {
		var page struct {
			Done    bool              `json:"done"`
			Next    string            `json:"nextRecordsUrl"`
			Records []json.RawMessage `json:"records"`
		}
		if err := api.JSON(ctx, call, &page); err != nil {
			return nil, err
		}
		for _, raw := range page.Records {
			rec, err := decodeRecord(raw)
			if err != nil {
				return nil, providers.Wrap(providers.CodeProviderError, err, "salesforce: a query record was not the JSON object expected")
			}
			if b == nil {
				b = providers.NewRowBuilder(rec.columns(), limits)
			}
			more, err := b.Add(rec.values(b.RowSet().Columns))
			if err != nil {
				return nil, providers.Wrap(providers.CodeProviderError, err, "salesforce: a value could not be encoded")
			}
			if !more {
				return b.RowSet(), nil
			}
		}
		if page.Done || page.Next == "" {
			break
		}
		if b != nil && b.Full() {
			b.SetTruncated()
			break
		}
		if !strings.HasPrefix(page.Next, "/") {
			return nil, providers.Errorf(providers.CodeProviderError, "salesforce: the query answered an unusable nextRecordsUrl")
		}
		call = providers.Call{Path: page.Next, Header: header}
	}
	if b == nil {
		b = providers.NewRowBuilder(cols, limits)
	}
	return b.RowSet(), nil
}

// queryError classifies the answer to a query: a 400 is an error Salesforce
// raised for the statement (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE,
// ...), CodeQueryFailed with its message; anything else is apiError's.
func (c *conn) queryError(a providers.Answer) *providers.Error {
	if a.StatusCode == http.StatusBadRequest {
		code, msg := errorOf(a.Body)
		if msg = strings.TrimSpace(a.Redact(msg)); msg == "" {
			msg = code
		}
		if msg != "" {
			return &providers.Error{Code: providers.CodeQueryFailed, Message: msg}
		}
	}
	return c.apiError(a)
}

// record is one query record: its keys in order (without "attributes") and
// their raw values.
type record struct {
	keys []string
	vals []json.RawMessage
}

// decodeRecord decodes a record object keeping its key order, which is the
// SELECT order.
func decodeRecord(raw []byte) (*record, error) {
	keys, vals, err := providers.DecodeOrderedObject(raw)
	if err != nil {
		return nil, err
	}
	var r record
	for i, key := range keys {
		if key != "attributes" {
			r.keys = append(r.keys, key)
			r.vals = append(r.vals, vals[i])
		}
	}
	return &r, nil
}

// columns are the record's keys, typed by their JSON values.
func (r *record) columns() []providers.Column {
	cols := make([]providers.Column, len(r.keys))
	for i, k := range r.keys {
		cols[i] = providers.Column{Name: k, DataType: providers.JSONType(r.vals[i]), Nullable: true}
	}
	return cols
}

// values are the record's values for cols, matched by name (null where the
// record has none).
func (r *record) values(cols []providers.Column) []any {
	out := make([]any, len(cols))
	for i, col := range cols {
		j := i
		if j >= len(r.keys) || r.keys[j] != col.Name {
			j = -1
			for k, key := range r.keys {
				if strings.EqualFold(key, col.Name) {
					j = k
					break
				}
			}
		}
		if j >= 0 {
			out[i] = providers.JSONValue(r.vals[j])
		}
	}
	return out
}
