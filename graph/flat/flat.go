// Package flat answers the GraphQL fields that return connections, when
// what is selected below them is plain fields, by writing the JSON of the
// whole value in one pass instead of running gqlgen's executor once per
// field of every row.
//
// gqlgen resolves every field of every object through graphql.ResolveField
// (a field context, a context value, closures, a recover, the middleware
// chain): a page of 100 connections with 20 fields is 2,000 of those, which
// cost more than reading the page from the database. For the selections it
// knows, Encoder writes the same bytes gqlgen would (it uses gqlgen's own
// scalar marshalers and its field-set layout), and for anything else it
// steps aside: gqlgen's executor answers as if Encoder were not installed.
// Equivalence is tested byte for byte against gqlgen on a corpus of
// selections (flat_test.go).
package flat

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/internal/jsonenc"
)

// Users loads users by id for the request in ctx, through the same loader
// the createdByUser and updatedByUser resolvers use: users[i] is the user
// ids[i] names, nil when there is none. An error makes Encoder step aside,
// so gqlgen's executor resolves (and reports) the fields one by one.
type Users interface {
	LoadUsers(ctx context.Context, ids []string) (users []*model.User, err error)
}

// Encoder is a gqlgen extension (a field interceptor) that writes, in one
// pass, the value of
//
//   - ConnectionList.connections ([Connection!]!),
//   - Query.connection and Query.connectionBySlug (Connection),
//
// when the selection on Connection holds only its plain fields, __typename,
// and createdByUser / updatedByUser selecting plain User fields; and of
//
//   - Connection.schemaTables ([SchemaTable!]), the schema tree,
//
// when the selection on SchemaTable holds its plain fields and columns
// selecting plain SchemaColumn fields (the resolver has read the columns
// already). Any other selection (a lazy provider field, editSettings,
// @defer), a value that would break a non-null rule, or an error loading
// users, leaves the field to gqlgen.
type Encoder struct {
	// Users loads the users of createdByUser and updatedByUser.
	Users Users
	// Answered, when set, is called with "Object.field" each time Encoder
	// writes a field's value itself (a test sees through it that Encoder,
	// not gqlgen, answered).
	Answered func(field string)
}

var _ interface {
	graphql.HandlerExtension
	graphql.FieldInterceptor
} = Encoder{}

// ExtensionName names the extension to gqlgen.
func (Encoder) ExtensionName() string { return "FlatConnections" }

// Validate accepts every schema: the fields Encoder answers are checked
// by name when a request reaches them.
func (Encoder) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptField runs the field's resolver and, for the fields Encoder
// answers, returns a graphql.Marshaler of the whole value; gqlgen writes a
// Marshaler returned by a field middleware as the field's value.
func (e Encoder) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil || !answers(fc.Object, fc.Field.Name) {
		return next(ctx)
	}
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	oc := graphql.GetOperationContext(ctx)
	if tables, ok := res.([]*model.SchemaTable); ok {
		return e.answerTables(oc, fc, tables), nil
	}
	cols, ok := connectionColumns(oc, fc.Field.Selections)
	if !ok {
		return res, nil
	}
	var m graphql.Marshaler
	switch v := res.(type) {
	case []*model.Connection:
		if r, ok := e.list(ctx, cols, v); ok {
			m = r
		}
	case *model.Connection:
		if v == nil {
			return res, nil
		}
		if r, ok := e.list(ctx, cols, []*model.Connection{v}); ok {
			m = one{r}
		}
	}
	if m == nil {
		return res, nil
	}
	if e.Answered != nil {
		e.Answered(fc.Object + "." + fc.Field.Name)
	}
	return m, nil
}

func answers(object, field string) bool {
	switch object + "." + field {
	case "ConnectionList.connections", "Query.connection", "Query.connectionBySlug", "Connection.schemaTables":
		return true
	}
	return false
}

// kind is how one selected field is read and written.
type kind uint8

const (
	kTypename kind = iota
	kID
	kName
	kSlug
	kProvider
	kConfig
	kHasCredentials
	kStatus
	kVisibility
	kIsDefault
	kIsFromTemplate
	kLastUsedAt
	kLastVerifiedAt
	kVerificationError
	kVerificationErrorCode
	kVerificationDetails
	kCreatedAt
	kUpdatedAt
	kCreatedBy
	kUpdatedBy
	kCreatedByUser
	kUpdatedByUser
	kUserID
	kUserName
	kUserEmail
	kTableSchema
	kTableTable
	kTableNormalizedName
	kTableSpec
	kTableKind
	kTableColumns
	kColumnName
	kColumnNormalizedName
	kColumnDataType
	kColumnNullable
	kColumnPrimaryKey
)

var connectionKinds = map[string]kind{
	"__typename":            kTypename,
	"id":                    kID,
	"name":                  kName,
	"slug":                  kSlug,
	"provider":              kProvider,
	"config":                kConfig,
	"hasCredentials":        kHasCredentials,
	"status":                kStatus,
	"visibility":            kVisibility,
	"isDefault":             kIsDefault,
	"isFromTemplate":        kIsFromTemplate,
	"lastUsedAt":            kLastUsedAt,
	"lastVerifiedAt":        kLastVerifiedAt,
	"verificationError":     kVerificationError,
	"verificationErrorCode": kVerificationErrorCode,
	"verificationDetails":   kVerificationDetails,
	"createdAt":             kCreatedAt,
	"updatedAt":             kUpdatedAt,
	"createdBy":             kCreatedBy,
	"updatedBy":             kUpdatedBy,
	"createdByUser":         kCreatedByUser,
	"updatedByUser":         kUpdatedByUser,
}

// subSelections are the fields Encoder writes whose values are objects:
// the type of the object and its fields Encoder writes.
var subSelections = map[kind]struct {
	typ   string
	kinds map[string]kind
}{
	kCreatedByUser: {"User", userKinds},
	kUpdatedByUser: {"User", userKinds},
	kTableColumns:  {"SchemaColumn", schemaColumnKinds},
}

var userKinds = map[string]kind{
	"__typename": kTypename,
	"id":         kUserID,
	"name":       kUserName,
	"email":      kUserEmail,
}

// column is one selected field: its key as written (`"alias":`), how it is
// read, and for a user field the columns of the user.
type column struct {
	key  string
	kind kind
	sub  []column
}

// connectionColumns collects sel on Connection the way gqlgen does
// (fragments, aliases, @skip and @include) and reports whether every field
// is one Encoder writes.
func connectionColumns(oc *graphql.OperationContext, sel ast.SelectionSet) ([]column, bool) {
	return columns(oc, sel, "Connection", connectionKinds)
}

func columns(oc *graphql.OperationContext, sel ast.SelectionSet, typ string, kinds map[string]kind) ([]column, bool) {
	fields := graphql.CollectFields(oc, sel, []string{typ})
	out := make([]column, 0, len(fields))
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if len(f.Deferrables) > 0 || len(f.Arguments) > 0 {
			return nil, false
		}
		k, ok := kinds[f.Name]
		if !ok {
			return nil, false
		}
		// gqlgen writes a response key once, the first time it comes.
		if seen[f.Alias] {
			continue
		}
		seen[f.Alias] = true
		c := column{key: quoteKey(f.Alias), kind: k}
		if sub, ok := subSelections[k]; ok {
			if c.sub, ok = columns(oc, f.Selections, sub.typ, sub.kinds); !ok {
				return nil, false
			}
		}
		out = append(out, c)
	}
	return out, true
}

// quoteKey is a response key as gqlgen writes it, with its colon.
func quoteKey(alias string) string { return string(appendString(nil, alias)) + ":" }

// list checks every row against the non-null rules of the selected fields
// and loads the selected users, and returns the marshaler of the rows, or
// false to leave them to gqlgen.
func (e Encoder) list(ctx context.Context, cols []column, conns []*model.Connection) (rows, bool) {
	var wantCreated, wantUpdated bool
	for _, c := range cols {
		switch c.kind {
		case kCreatedByUser:
			wantCreated = true
		case kUpdatedByUser:
			wantUpdated = true
		}
	}
	for _, c := range conns {
		if c == nil {
			return rows{}, false
		}
		for _, col := range cols {
			switch col.kind {
			case kConfig:
				if c.Config == nil {
					return rows{}, false
				}
			case kVerificationDetails:
				if c.VerificationDetails == nil {
					return rows{}, false
				}
			case kCreatedAt:
				if c.CreatedAt.IsZero() {
					return rows{}, false
				}
			case kUpdatedAt:
				if c.UpdatedAt.IsZero() {
					return rows{}, false
				}
			}
		}
	}
	r := rows{cols: cols, conns: conns}
	if wantCreated || wantUpdated {
		ids := make([]string, 0, len(conns)*2)
		for _, c := range conns {
			if wantCreated && c.CreatedBy != "" {
				ids = append(ids, c.CreatedBy)
			}
			if wantUpdated && c.UpdatedBy != "" {
				ids = append(ids, c.UpdatedBy)
			}
		}
		r.users = make(map[string]*model.User, len(ids))
		if len(ids) > 0 {
			users, err := e.Users.LoadUsers(ctx, dedupe(ids))
			if err != nil {
				return rows{}, false
			}
			for _, u := range users {
				if u != nil {
					r.users[u.ID] = u
				}
			}
		}
	}
	return r, true
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// rows writes a list of connections.
type rows struct {
	cols  []column
	conns []*model.Connection
	users map[string]*model.User
}

// one writes the only row of a rows: a single connection, not a list.
type one struct{ r rows }

func (o one) MarshalGQL(w io.Writer) { w.Write(o.r.object(make([]byte, 0, 1024), o.r.conns[0])) }

func (r rows) MarshalGQL(w io.Writer) {
	b := make([]byte, 0, 1024*len(r.conns)+2)
	b = append(b, '[')
	for i, c := range r.conns {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.object(b, c)
	}
	w.Write(append(b, ']'))
}

// object appends c's selected fields, each written as gqlgen's marshaler
// for its type writes it.
func (r rows) object(b []byte, c *model.Connection) []byte {
	b = append(b, '{')
	for i, col := range r.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.key...)
		switch col.kind {
		case kTypename:
			b = append(b, `"Connection"`...)
		case kID:
			b = appendString(b, c.ID)
		case kName:
			b = appendString(b, c.Name)
		case kSlug:
			b = appendString(b, c.Slug)
		case kProvider:
			b = appendEnum(b, string(c.Provider), c.Provider)
		case kConfig:
			b = appendMap(b, c.Config)
		case kHasCredentials:
			b = strconv.AppendBool(b, c.HasCredentials)
		case kStatus:
			b = appendEnum(b, string(c.Status), c.Status)
		case kVisibility:
			b = appendEnum(b, string(c.Visibility), c.Visibility)
		case kIsDefault:
			b = strconv.AppendBool(b, c.IsDefault)
		case kIsFromTemplate:
			b = strconv.AppendBool(b, c.IsFromTemplate)
		case kLastUsedAt:
			b = appendOptTime(b, c.LastUsedAt)
		case kLastVerifiedAt:
			b = appendOptTime(b, c.LastVerifiedAt)
		case kVerificationError:
			b = appendOptString(b, c.VerificationError)
		case kVerificationErrorCode:
			b = appendOptString(b, c.VerificationErrorCode)
		case kVerificationDetails:
			b = appendMap(b, c.VerificationDetails)
		case kCreatedAt:
			b = appendTime(b, c.CreatedAt)
		case kUpdatedAt:
			b = appendTime(b, c.UpdatedAt)
		case kCreatedBy:
			b = appendString(b, c.CreatedBy)
		case kUpdatedBy:
			b = appendString(b, c.UpdatedBy)
		case kCreatedByUser:
			b = r.user(b, col.sub, c.CreatedBy)
		case kUpdatedByUser:
			b = r.user(b, col.sub, c.UpdatedBy)
		}
	}
	return append(b, '}')
}

// user appends the user id names, or null: the resolvers answer null for
// an empty id and for an id no user has.
func (r rows) user(b []byte, cols []column, id string) []byte {
	u := r.users[id]
	if id == "" || u == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, col := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.key...)
		switch col.kind {
		case kTypename:
			b = append(b, `"User"`...)
		case kUserID:
			b = appendString(b, u.ID)
		case kUserName:
			b = appendString(b, u.Name)
		case kUserEmail:
			b = appendString(b, u.Email)
		}
	}
	return append(b, '}')
}

// appendString appends s as gqlgen's MarshalString (and MarshalID) writes
// it: only the quote, the backslash and bytes below 0x20 are escaped (as
// \u00XX in upper-case hex, but for \t, \r and \n); every other byte,
// invalid UTF-8 included, is copied. FuzzAppendString holds it to gqlgen's.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		default:
			b = append(b, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const upperHex = "0123456789ABCDEF"

// appendEnum appends an enum as its MarshalGQL writes it (strconv.Quote):
// a name of letters, digits and underscores is the name in quotes; any
// other value goes through MarshalGQL itself.
func appendEnum(b []byte, s string, v graphql.Marshaler) []byte {
	if out, ok := jsonenc.AppendName(b, s); ok {
		return out
	}
	var buf bytes.Buffer
	v.MarshalGQL(&buf)
	return append(b, buf.Bytes()...)
}

// appendMap appends m as graphql.MarshalMap writes it: a json.Encoder's
// output, HTML escaped, with its newline. A map encoding/json refuses
// goes through MarshalMap, which panics as gqlgen's executor would.
func appendMap(b []byte, m map[string]any) []byte {
	out, err := jsonenc.AppendValue(b, m, true)
	if err != nil {
		graphql.MarshalMap(m).MarshalGQL(io.Discard)
		return b
	}
	return append(out, '\n')
}

// appendTime appends t as graphql.MarshalTime writes it; a zero time,
// which MarshalTime writes as null, never reaches here for a non-null
// field (list steps aside for it).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	return strconv.AppendQuote(b, t.Format(time.RFC3339Nano))
}

func appendOptTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t)
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}
