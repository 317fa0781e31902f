package netsuite

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.Sampler = (*conn)(nil)
	_ providers.Querier = (*conn)(nil)
)

// suiteqlPath is the SuiteQL resource.
const suiteqlPath = "/services/rest/query/v1/suiteql"

// maxPage is the most rows SuiteQL answers in one page.
const maxPage = 1000

// page is one SuiteQL page.
type page struct {
	Items   []json.RawMessage `json:"items"`
	HasMore bool              `json:"hasMore"`
}

// suiteql runs one page of q: POST suiteql?limit=&offset= with
// Prefer: transient and the body {"q": q}.
func (c *conn) suiteql(ctx context.Context, api *providers.API, q string, limit, offset int) (*page, error) {
	query := url.Values{"limit": {strconv.Itoa(limit)}}
	if offset > 0 {
		query.Set("offset", strconv.Itoa(offset))
	}
	call := providers.Call{
		Method: http.MethodPost,
		Path:   suiteqlPath,
		Query:  query,
		JSON:   map[string]string{"q": q},
		Header: http.Header{"Prefer": {"transient"}},
	}
	var p page
	if err := api.JSON(ctx, call, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Sample reads the first rows of a record type the metadata catalog lists,
// with SELECT * FROM <record> (the name as the catalog spells it); any other
// table is CodeNotFound.
func (c *conn) Sample(ctx context.Context, req providers.SampleRequest) (*providers.RowSet, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	if req.Table.Schema == schema && providers.ValidName(req.Table.Table) {
		names, err := c.recordTypes(ctx)
		if err != nil {
			return nil, err
		}
		if i, ok := slices.BinarySearch(names, req.Table.Table); ok {
			return c.rows(ctx, "SELECT * FROM "+names[i], req.Limits)
		}
	}
	return nil, providers.Errorf(providers.CodeNotFound, "netsuite: there is no record type %q in schema %q", req.Table.Table, req.Table.Schema)
}

// Query runs one SuiteQL SELECT (or WITH ... SELECT), refusing anything else
// before it is sent, paged up to MaxRows+1 rows. Columns are the item keys
// in order of first appearance (SuiteQL leaves nulls out of an item); an
// empty result has none. TableRefs are the FROM and JOIN tables (see
// parseSuiteQL). An error NetSuite raises for the statement (400 with
// o:errorDetails) is CodeQueryFailed with its detail. SuiteQL has no
// statement timeout: Timeout bounds the calls.
func (c *conn) Query(ctx context.Context, req providers.QueryRequest) (*providers.QueryResult, error) {
	stmt, err := parseSuiteQL(req.SQL)
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
	rs, err := c.rows(ctx, stmt.text, req.Limits)
	if err != nil {
		return nil, err
	}
	return &providers.QueryResult{RowSet: *rs, TableRefs: stmt.refs}, nil
}

// rows runs q a page at a time (limit min(maxRows+1, 1000), offset stepping
// by the limit) until hasMore is false or maxRows+1 rows (or MaxBytes of
// items) are in, then builds the result: items come without their null
// values, so the columns are known only once the items are.
func (c *conn) rows(ctx context.Context, q string, limits providers.RowLimits) (*providers.RowSet, error) {
	api := c.api
	api.Error = c.queryError
	want := max(limits.MaxRows, 1) + 1
	limit := min(want, maxPage)
	var (
		items []item
		size  int
		more  bool
	)
	for offset := 0; ; offset += limit {
		p, err := c.suiteql(ctx, &api, q, limit, offset)
		if err != nil {
			return nil, err
		}
		for _, raw := range p.Items {
			keys, vals, err := providers.DecodeOrderedObject(raw)
			if err != nil {
				return nil, providers.Wrap(providers.CodeProviderError, err, "netsuite: a SuiteQL item was not the JSON object expected")
			}
			items = append(items, item{keys, vals})
			size += len(raw)
		}
		more = p.HasMore
		if !more || len(p.Items) == 0 || len(items) >= want || (limits.MaxBytes > 0 && size > limits.MaxBytes) {
			break
		}
	}
	var cols []providers.Column
	index := map[string]int{}
	for _, it := range items {
		for i, k := range it.keys {
			if _, ok := index[k]; k != "links" && !ok {
				index[k] = len(cols)
				cols = append(cols, providers.Column{Name: k, DataType: providers.JSONType(it.vals[i]), Nullable: true})
			} else if ok && cols[index[k]].DataType == "" {
				cols[index[k]].DataType = providers.JSONType(it.vals[i])
			}
		}
	}
	b := providers.NewRowBuilder(cols, limits)
	for _, it := range items {
		values := make([]any, len(cols))
		for i, k := range it.keys {
			if j, ok := index[k]; ok {
				values[j] = providers.JSONValue(it.vals[i])
			}
		}
		ok, err := b.Add(values)
		if err != nil {
			return nil, providers.Wrap(providers.CodeProviderError, err, "netsuite: a value could not be encoded")
		}
		if !ok {
			return b.RowSet(), nil
		}
	}
	if more {
		b.SetTruncated() // stopped at the byte cap with rows left upstream
	}
	return b.RowSet(), nil
}

// item is one SuiteQL item: its keys in order and their raw values.
type item struct {
	keys []string
	vals []json.RawMessage
}

// queryError classifies the answer to a statement: a 400 NetSuite explains
// in o:errorDetails (an unknown field or table, a syntax error, a record the
// role may not read) is CodeQueryFailed with the detail; anything else is
// apiError's.
func (c *conn) queryError(a providers.Answer) *providers.Error {
	e := c.apiError(a)
	if a.StatusCode == http.StatusBadRequest && e.Code == providers.CodeProviderError {
		if _, detail := errorOf(a.Body); strings.TrimSpace(detail) != "" {
			return &providers.Error{Code: providers.CodeQueryFailed, Message: strings.TrimSpace(a.Redact(detail))}
		}
	}
	return e
}
