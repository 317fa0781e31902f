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
	"context"
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/junctionhq/junction/graph/model"
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
// and createdByUser / updatedByUser selecting plain User fields. Any other
// selection (a lazy provider field, editSettings, @defer), a value that
// would break a non-null rule, or an error loading users, leaves the field
// to gqlgen.
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
	case "ConnectionList.connections", "Query.connection", "Query.connectionBySlug":
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
		if k == kCreatedByUser || k == kUpdatedByUser {
			if c.sub, ok = columns(oc, f.Selections, "User", userKinds); !ok {
				return nil, false
			}
		}
		out = append(out, c)
	}
	return out, true
}

// quoteKey is a response key as gqlgen writes it; a GraphQL name needs no
// escaping, but the key goes through gqlgen's string marshaler anyway.
func quoteKey(alias string) string {
	var b keyBuilder
	graphql.MarshalString(alias).MarshalGQL(&b)
	return string(b) + ":"
}

type keyBuilder []byte

func (b *keyBuilder) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

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

func (o one) MarshalGQL(w io.Writer) { o.r.object(w, o.r.conns[0]) }

func (r rows) MarshalGQL(w io.Writer) {
	io.WriteString(w, "[")
	for i, c := range r.conns {
		if i > 0 {
			io.WriteString(w, ",")
		}
		r.object(w, c)
	}
	io.WriteString(w, "]")
}

func (r rows) object(w io.Writer, c *model.Connection) {
	io.WriteString(w, "{")
	for i, col := range r.cols {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, col.key)
		switch col.kind {
		case kTypename:
			graphql.MarshalString("Connection").MarshalGQL(w)
		case kID:
			graphql.MarshalID(c.ID).MarshalGQL(w)
		case kName:
			graphql.MarshalString(c.Name).MarshalGQL(w)
		case kSlug:
			graphql.MarshalString(c.Slug).MarshalGQL(w)
		case kProvider:
			c.Provider.MarshalGQL(w)
		case kConfig:
			graphql.MarshalMap(c.Config).MarshalGQL(w)
		case kHasCredentials:
			graphql.MarshalBoolean(c.HasCredentials).MarshalGQL(w)
		case kStatus:
			c.Status.MarshalGQL(w)
		case kVisibility:
			c.Visibility.MarshalGQL(w)
		case kIsDefault:
			graphql.MarshalBoolean(c.IsDefault).MarshalGQL(w)
		case kIsFromTemplate:
			graphql.MarshalBoolean(c.IsFromTemplate).MarshalGQL(w)
		case kLastUsedAt:
			optionalTime(w, c.LastUsedAt)
		case kLastVerifiedAt:
			optionalTime(w, c.LastVerifiedAt)
		case kVerificationError:
			optionalString(w, c.VerificationError)
		case kVerificationErrorCode:
			optionalString(w, c.VerificationErrorCode)
		case kVerificationDetails:
			graphql.MarshalMap(c.VerificationDetails).MarshalGQL(w)
		case kCreatedAt:
			graphql.MarshalTime(c.CreatedAt).MarshalGQL(w)
		case kUpdatedAt:
			graphql.MarshalTime(c.UpdatedAt).MarshalGQL(w)
		case kCreatedBy:
			graphql.MarshalString(c.CreatedBy).MarshalGQL(w)
		case kUpdatedBy:
			graphql.MarshalString(c.UpdatedBy).MarshalGQL(w)
		case kCreatedByUser:
			r.user(w, col.sub, c.CreatedBy)
		case kUpdatedByUser:
			r.user(w, col.sub, c.UpdatedBy)
		}
	}
	io.WriteString(w, "}")
}

// user writes the user id names, or null: the resolvers answer null for an
// empty id and for an id no user has.
func (r rows) user(w io.Writer, cols []column, id string) {
	u := r.users[id]
	if id == "" || u == nil {
		graphql.Null.MarshalGQL(w)
		return
	}
	io.WriteString(w, "{")
	for i, col := range cols {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, col.key)
		switch col.kind {
		case kTypename:
			graphql.MarshalString("User").MarshalGQL(w)
		case kUserID:
			graphql.MarshalID(u.ID).MarshalGQL(w)
		case kUserName:
			graphql.MarshalString(u.Name).MarshalGQL(w)
		case kUserEmail:
			graphql.MarshalString(u.Email).MarshalGQL(w)
		}
	}
	io.WriteString(w, "}")
}

func optionalTime(w io.Writer, t *time.Time) {
	if t == nil {
		graphql.Null.MarshalGQL(w)
		return
	}
	graphql.MarshalTime(*t).MarshalGQL(w)
}

func optionalString(w io.Writer, s *string) {
	if s == nil {
		graphql.Null.MarshalGQL(w)
		return
	}
	graphql.MarshalString(*s).MarshalGQL(w)
}
