package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/resolvers"
)

// pydantic v2's messages for the error types the parser reports.
const (
	msgMissing     = "Field required"
	msgExtra       = "Extra inputs are not permitted"
	msgStringType  = "Input should be a valid string"
	msgDictType    = "Input should be a valid dictionary"
	msgBoolParsing = "Input should be a valid boolean, unable to interpret input"
	msgBoolType    = "Input should be a valid boolean"
	msgIntParsing  = "Input should be a valid integer, unable to parse string as an integer"
	msgJSONInvalid = "JSON decode error"
	msgUUIDParsing = "Input should be a valid UUID, "
	msgListType    = "Input should be a valid list"
	msgIntType     = "Input should be a valid integer"
	msgIntFloat    = "Input should be a valid integer, got a number with a fractional part"
)

// pydantic v2's messages for the constraint errors the parser reports.
func msgGreaterEqual(n int) string {
	return fmt.Sprintf("Input should be greater than or equal to %d", n)
}

func msgLessEqual(n int) string {
	return fmt.Sprintf("Input should be less than or equal to %d", n)
}

func msgStringTooShort(n int) string {
	return fmt.Sprintf("String should have at least %d character%s", n, plural(n))
}

func msgStringTooLong(n int) string {
	return fmt.Sprintf("String should have at most %d character%s", n, plural(n))
}

func msgListTooShort(n, got int) string {
	return fmt.Sprintf("List should have at least %d item%s after validation, not %d", n, plural(n), got)
}

func msgListTooLong(n, got int) string {
	return fmt.Sprintf("List should have at most %d item%s after validation, not %d", n, plural(n), got)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// problems collects the validation problems of one request, with full
// locations ("path", "query" or "body" first), in the order found.
type problems struct {
	list []resolvers.FieldError
}

func (p *problems) add(typ, msg string, loc ...any) {
	p.list = append(p.list, resolvers.FieldError{Loc: loc, Msg: msg, Type: typ})
}

func (p *problems) any() bool { return len(p.list) > 0 }

// covers reports whether a problem was already found at loc or above it, so
// a follow-up check does not report the same field twice (an object that is
// not an object has no missing keys).
func (p *problems) covers(loc []any) bool {
	for _, e := range p.list {
		if len(e.Loc) <= len(loc) && slices.Equal(e.Loc, loc[:len(e.Loc)]) {
			return true
		}
	}
	return false
}

// err returns the problems as the resolvers' validation error, sorted like
// pydantic reports them: path, then query, then body; within the body by the
// model's field order, unknown keys last.
func (p *problems) err(order []string) error {
	rank := func(e resolvers.FieldError) (int, int) {
		section := slices.Index([]any{"path", "query", "body"}, e.Loc[0])
		field := len(order)
		if len(e.Loc) > 1 {
			if s, ok := e.Loc[1].(string); ok && slices.Contains(order, s) {
				field = slices.Index(order, s)
			}
		}
		return section, field
	}
	list := slices.Clone(p.list)
	slices.SortStableFunc(list, func(a, b resolvers.FieldError) int {
		as, af := rank(a)
		bs, bf := rank(b)
		if as != bs {
			return as - bs
		}
		return af - bf
	})
	return &resolvers.Error{Code: resolvers.CodeValidation, Message: "Request validation failed", Fields: list}
}

// between records pydantic's ge/le problem at loc when n is outside
// lo..hi, and reports whether n is inside.
func (p *problems) between(n, lo, hi int, loc ...any) bool {
	switch {
	case n < lo:
		p.add("greater_than_equal", msgGreaterEqual(lo), loc...)
	case n > hi:
		p.add("less_than_equal", msgLessEqual(hi), loc...)
	default:
		return true
	}
	return false
}

// merge adds the resolver's validation problems (relocated by loc) that do
// not concern a field the parser already refused. Other errors are dropped:
// the request is answered 422 for its own problems first, as FastAPI does.
func (p *problems) merge(err error, loc locator) {
	var e *resolvers.Error
	if !errors.As(err, &e) || e.Code != resolvers.CodeValidation {
		return
	}
	var add []resolvers.FieldError
	for _, f := range e.Fields {
		f.Loc = loc(f.Loc)
		if !p.covers(f.Loc) {
			add = append(add, f)
		}
	}
	p.list = append(p.list, add...)
}

// pathUUID reads the UUID path parameter name, or records uuid_parsing.
func pathUUID(r *http.Request, name string, p *problems) string {
	raw := chi.URLParam(r, name)
	id, why := parseUUID(raw)
	if why != "" {
		p.add("uuid_parsing", msgUUIDParsing+why, "path", name)
	}
	return id
}

// object is a decoded JSON request body whose top level is an object.
type object struct {
	keys   []string // in input order, each once
	values map[string]any
}

// readBody reads the request body as generic JSON (numbers as json.Number).
// A missing body, malformed JSON or a body that is not an object is
// recorded in p and gives a nil object. The error is the body's read error
// (a body over the server's limit is *http.MaxBytesError).
func readBody(r *http.Request, p *problems) (*object, error) {
	if r.Body == nil {
		p.add("missing", msgMissing, "body")
		return nil, nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(data) == 0 {
		p.add("missing", msgMissing, "body")
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		p.add("json_invalid", msgJSONInvalid, "body", jsonErrorPos(data, err))
		return nil, nil
	}
	if rest := data[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		at := len(data) - len(bytes.TrimLeft(rest, " \t\r\n"))
		p.add("json_invalid", msgJSONInvalid, "body", utf8.RuneCount(data[:at]))
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add("dict_type", msgDictType, "body")
		return nil, nil
	}
	return &object{keys: objectKeys(data), values: m}, nil
}

// jsonErrorPos is where Python's json module would place the error: the
// character index of the offending character, or the end of the input when
// it ends early.
func jsonErrorPos(data []byte, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 && int(se.Offset) <= len(data) {
		return utf8.RuneCount(data[:se.Offset-1])
	}
	return utf8.RuneCount(data)
}

// objectKeys lists the top-level keys of a valid JSON object in input order.
func objectKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	var keys []string
	if _, err := dec.Token(); err != nil {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		if k, ok := t.(string); ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	return keys
}

// forbidExtra records extra_forbidden for every key not in known.
func (o *object) forbidExtra(known []string, p *problems) {
	for _, k := range o.keys {
		if !slices.Contains(known, k) {
			p.add("extra_forbidden", msgExtra, "body", k)
		}
	}
}

// requiredString reads a required str field.
func (o *object) requiredString(key string, p *problems) string {
	v, ok := o.values[key]
	if !ok {
		p.add("missing", msgMissing, "body", key)
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add("string_type", msgStringType, "body", key)
	}
	return s
}

// optString reads an Optional[str] field: absent is unset, null is set to nil.
func (o *object) optString(key string, p *problems) graphql.Omittable[*string] {
	v, ok := o.values[key]
	switch s := v.(type) {
	case nil:
		if ok {
			return graphql.OmittableOf[*string](nil)
		}
	case string:
		return graphql.OmittableOf(&s)
	default:
		p.add("string_type", msgStringType, "body", key)
	}
	return graphql.Omittable[*string]{}
}

// optMap reads an Optional[dict] field: absent is unset, null is set to nil.
func (o *object) optMap(key string, p *problems) graphql.Omittable[map[string]any] {
	v, ok := o.values[key]
	switch m := v.(type) {
	case nil:
		if ok {
			return graphql.OmittableOf[map[string]any](nil)
		}
	case map[string]any:
		return graphql.OmittableOf(m)
	default:
		p.add("dict_type", msgDictType, "body", key)
	}
	return graphql.Omittable[map[string]any]{}
}

// optBool reads an Optional[bool] field with pydantic's lax coercions
// (0/1 and the strings true/false, yes/no, on/off, t/f, y/n, 1/0).
func (o *object) optBool(key string, p *problems) graphql.Omittable[*bool] {
	v, ok := o.values[key]
	if !ok {
		return graphql.Omittable[*bool]{}
	}
	if v == nil {
		return graphql.OmittableOf[*bool](nil)
	}
	b, typ := laxBool(v)
	switch typ {
	case "":
		return graphql.OmittableOf(&b)
	case "bool_parsing":
		p.add(typ, msgBoolParsing, "body", key)
	default:
		p.add(typ, msgBoolType, "body", key)
	}
	return graphql.Omittable[*bool]{}
}

// optInt reads an Optional[int] field with pydantic's lax coercions from
// JSON: integers, floats without a fractional part, numeric strings and
// booleans. Absent and null are nil.
func (o *object) optInt(key string, p *problems) *int {
	v, ok := o.values[key]
	if !ok || v == nil {
		return nil
	}
	n, typ := laxInt(v)
	switch typ {
	case "":
		return &n
	case "int_parsing":
		p.add(typ, msgIntParsing, "body", key)
	case "int_from_float":
		p.add(typ, msgIntFloat, "body", key)
	default:
		p.add(typ, msgIntType, "body", key)
	}
	return nil
}

func laxInt(v any) (int, string) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, ""
		}
		return 0, ""
	case json.Number:
		if n, ok := intString(x.String()); ok && !strings.ContainsAny(x.String(), "eE") {
			return n, ""
		}
		f, err := x.Float64()
		if err != nil && !math.IsInf(f, 0) {
			return 0, "int_parsing"
		}
		switch {
		case f != math.Trunc(f):
			return 0, "int_from_float"
		case f >= math.MaxInt64:
			return math.MaxInt, ""
		case f <= math.MinInt64:
			return math.MinInt, ""
		}
		return int(f), ""
	case string:
		if n, ok := intString(x); ok {
			return n, ""
		}
		return 0, "int_parsing"
	}
	return 0, "int_type"
}

// stringList reads a required list[str] field, with min and max items
// (pydantic reports a list that is too long alone, and too short only when
// its items are valid).
func (o *object) stringList(key string, minItems, maxItems int, p *problems) []string {
	v, ok := o.values[key]
	if !ok {
		p.add("missing", msgMissing, "body", key)
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		p.add("list_type", msgListType, "body", key)
		return nil
	}
	if len(l) > maxItems {
		p.add("too_long", msgListTooLong(maxItems, len(l)), "body", key)
		return nil
	}
	out := make([]string, len(l))
	bad := false
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			p.add("string_type", msgStringType, "body", key, i)
			bad = true
		}
		out[i] = s
	}
	if !bad && len(l) < minItems {
		p.add("too_short", msgListTooShort(minItems, len(l)), "body", key)
	}
	return out
}

func laxBool(v any) (bool, string) {
	switch x := v.(type) {
	case bool:
		return x, ""
	case json.Number:
		switch x.String() {
		case "0", "0.0":
			return false, ""
		case "1", "1.0":
			return true, ""
		}
		return false, "bool_parsing"
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "on", "t", "y":
			return true, ""
		case "false", "0", "no", "off", "f", "n":
			return false, ""
		}
		return false, "bool_parsing"
	}
	return false, "bool_type"
}

// enum reads an enum field given as a string; membership is the resolver's
// check (it knows the registry), so only the JSON type is checked here.
// Anything but a string is pydantic's enum error. present is false when the
// key is absent.
func enumField[T ~string](o *object, key string, allowed []T, nullable bool, p *problems) (v *T, present bool) {
	raw, ok := o.values[key]
	if !ok {
		return nil, false
	}
	if raw == nil && nullable {
		return nil, true
	}
	s, isString := raw.(string)
	if !isString {
		p.add("enum", enumMsg(allowed), "body", key)
		return nil, false
	}
	t := T(s)
	return &t, true
}

// enumMsg is pydantic's enum message: Input should be 'a', 'b' or 'c'.
func enumMsg[T ~string](allowed []T) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = "'" + string(a) + "'"
	}
	if len(q) == 1 {
		return "Input should be " + q[0]
	}
	return "Input should be " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// createFields are CreateConnection's body fields in the model's order.
var createFields = []string{"name", "provider", "credentials", "config", "visibility", "slug", "isDefault"}

// parseCreate reads POST /connections.
func parseCreate(o *object, p *problems) model.CreateConnectionInput {
	var in model.CreateConnectionInput
	if o == nil {
		return in
	}
	in.Name = o.requiredString("name", p)
	if v, present := enumField(o, "provider", model.AllProvider, false, p); v != nil {
		in.Provider = *v
	} else if !present && !p.covers([]any{"body", "provider"}) {
		p.add("missing", msgMissing, "body", "provider")
	}
	in.Credentials = o.optMap("credentials", p)
	in.Config = o.optMap("config", p)
	if v, present := enumField(o, "visibility", model.AllVisibility, true, p); present {
		in.Visibility = graphql.OmittableOf(v)
	}
	in.Slug = o.optString("slug", p)
	in.IsDefault = o.optBool("isDefault", p)
	o.forbidExtra(createFields, p)
	return in
}

// updateFields are UpdateConnection's body fields in the model's order.
var updateFields = []string{"name", "slug", "config", "credentials", "visibility"}

// parseUpdate reads PATCH /connections/{id}: an absent key keeps the value,
// config replaces, credentials are per key (string sets, null removes).
func parseUpdate(o *object, p *problems) model.UpdateConnectionInput {
	var in model.UpdateConnectionInput
	if o == nil {
		return in
	}
	in.Name = o.optString("name", p)
	in.Slug = o.optString("slug", p)
	in.Config = o.optMap("config", p)
	in.Credentials = o.optMap("credentials", p)
	if v, present := enumField(o, "visibility", model.AllVisibility, true, p); present {
		in.Visibility = graphql.OmittableOf(v)
	}
	o.forbidExtra(updateFields, p)
	return in
}

// testFields are TestConnection's body fields in the model's order.
var testFields = []string{"provider", "config", "credentials", "connectionId"}

// parseTest reads POST /connections/test.
func parseTest(o *object, p *problems) model.TestConnectionInput {
	var in model.TestConnectionInput
	if o == nil {
		return in
	}
	if v, present := enumField(o, "provider", model.AllProvider, true, p); present {
		in.Provider = graphql.OmittableOf(v)
	}
	in.Config = o.optMap("config", p)
	in.Credentials = o.optMap("credentials", p)
	if id := o.optString("connectionId", p); id.Value() != nil {
		canon, why := parseUUID(*id.Value())
		if why != "" {
			p.add("uuid_parsing", msgUUIDParsing+why, "body", "connectionId")
		} else {
			in.ConnectionID = graphql.OmittableOf(&canon)
		}
	}
	o.forbidExtra(testFields, p)
	return in
}

// validateFields are ValidateFileSelection's body fields in the model's order.
var validateFields = []string{"selectedItems"}

// parseSelection reads POST .../files/validate: 1 to MaxSelectedItems paths
// or ids.
func parseSelection(o *object, p *problems) []string {
	if o == nil {
		return nil
	}
	selected := o.stringList("selectedItems", 1, resolvers.MaxSelectedItems, p)
	o.forbidExtra(validateFields, p)
	return selected
}

// sampleFields are SampleTable's body fields in the model's order.
var sampleFields = []string{"schema", "table", "maxRows"}

type sampleRequest struct {
	schema, table string
	maxRows       *int
}

// parseSample reads POST .../schema/sample.
func parseSample(o *object, p *problems) sampleRequest {
	var sr sampleRequest
	if o == nil {
		return sr
	}
	sr.schema = o.requiredString("schema", p)
	sr.table = o.requiredString("table", p)
	sr.maxRows = o.maxRows(p)
	o.forbidExtra(sampleFields, p)
	return sr
}

// queryFields are RunQuery's body fields in the model's order.
var queryFields = []string{"sql", "maxRows"}

type queryRequest struct {
	sql     string
	maxRows *int
}

// parseQuery reads POST .../schema/query: sql is 1 to MaxSQLLength
// characters (Python's len: code points).
func parseQuery(o *object, p *problems) queryRequest {
	var qr queryRequest
	if o == nil {
		return qr
	}
	qr.sql = o.requiredString("sql", p)
	if !p.covers([]any{"body", "sql"}) {
		switch n := utf8.RuneCountInString(qr.sql); {
		case n < 1:
			p.add("string_too_short", msgStringTooShort(1), "body", "sql")
		case n > resolvers.MaxSQLLength:
			p.add("string_too_long", msgStringTooLong(resolvers.MaxSQLLength), "body", "sql")
		}
	}
	qr.maxRows = o.maxRows(p)
	o.forbidExtra(queryFields, p)
	return qr
}

// maxRows reads the optional maxRows of a sample or query: an int >= 1, or
// absent or null for the endpoint's default (the server's cap bounds it).
func (o *object) maxRows(p *problems) *int {
	n := o.optInt("maxRows", p)
	if n != nil && !p.between(*n, 1, math.MaxInt, "body", "maxRows") {
		return nil
	}
	return n
}

// query reads the query string; the last of repeated values wins, as in
// Starlette. Each value remembers the name it came by (an alias).
type query struct {
	values map[string][]string
}

// first returns the value of the first of names present, and that name.
func (q query) first(names ...string) (string, string, bool) {
	for _, n := range names {
		if vs, ok := q.values[n]; ok && len(vs) > 0 {
			return vs[len(vs)-1], n, true
		}
	}
	return "", "", false
}

// int parses an integer query parameter the way pydantic does in lax mode:
// surrounding whitespace, a sign and a ".0" fraction are accepted.
func (q query) int(name string, p *problems) *int {
	raw, _, ok := q.first(name)
	if !ok {
		return nil
	}
	n, ok := intString(raw)
	if !ok {
		p.add("int_parsing", msgIntParsing, "query", name)
		return nil
	}
	return &n
}

// intString parses s as pydantic's lax int does: surrounding whitespace, a
// sign and a ".0" fraction are accepted. A number too large for an int is
// clamped: out of range for us is out of range for every bound.
func intString(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if whole, frac, found := strings.Cut(s, "."); found && strings.Trim(frac, "0") == "" {
		s = whole
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(s, "-") {
				return math.MinInt, true
			}
			return math.MaxInt, true
		}
		return 0, false
	}
	return n, true
}

// bool parses a bool query parameter given by the first of names present
// the way pydantic does (true/false, 1/0, yes/no, on/off, t/f, y/n, any
// case); a problem is reported under the name it came by.
func (q query) bool(p *problems, names ...string) *bool {
	raw, name, ok := q.first(names...)
	if !ok {
		return nil
	}
	b, typ := laxBool(raw)
	if typ != "" {
		p.add(typ, msgBoolParsing, "query", name)
		return nil
	}
	return &b
}

// optStr returns a str query parameter, nil when absent.
func (q query) optStr(name string) *string {
	if v, _, ok := q.first(name); ok {
		return &v
	}
	return nil
}

// requiredStr returns a required str query parameter, or records missing.
func (q query) requiredStr(name string, p *problems) string {
	v, _, ok := q.first(name)
	if !ok {
		p.add("missing", msgMissing, "query", name)
	}
	return v
}

// Aliases accepted for the list's sort and order parameters, canonical first.
var (
	sortParams  = []string{"sort", "sort_by", "sortBy"}
	orderParams = []string{"order", "sort_order", "sortOrder", "direction"}
	// listParams are the list's query parameters in the endpoint's order.
	listParams = slices.Concat([]string{"search"}, sortParams, orderParams, []string{"limit", "offset", "cursor"})
)

// listRequest is GET /connections after parsing, with the names the sort
// and order came by (for error locations).
type listRequest struct {
	in                resolvers.ListInput
	sortName, orderBy string
}

// parseList reads GET /connections.
func parseList(r *http.Request, p *problems) listRequest {
	q := query{values: r.URL.Query()}
	lr := listRequest{sortName: "sort", orderBy: "order"}
	if v, _, ok := q.first("search"); ok {
		lr.in.Search = &v
	}
	if v, name, ok := q.first(sortParams...); ok {
		s := model.ConnectionSort(v)
		lr.in.Sort, lr.sortName = &s, name
	}
	if v, name, ok := q.first(orderParams...); ok {
		o := model.SortOrder(v)
		lr.in.Order, lr.orderBy = &o, name
	}
	lr.in.Limit = q.int("limit", p)
	lr.in.Offset = q.int("offset", p)
	if v, _, ok := q.first("cursor"); ok {
		lr.in.Cursor = &v
	}
	return lr
}
