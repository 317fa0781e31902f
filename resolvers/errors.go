package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// Code is the machine-readable class of an API error. GraphQL serves it as
// extensions.code; the REST shim maps it to a status in rest/errors.go.
type Code string

// The error codes of the API.
const (
	CodeValidation      Code = "validation_failed"
	CodeUnauthenticated Code = "unauthenticated"
	CodeNotFound        Code = "not_found"
	CodeForbidden       Code = "forbidden"
	CodeConflict        Code = "conflict"
	CodeDisabled        Code = "connection_disabled"
	CodeUnsupported     Code = "unsupported_operation"
	CodeProviderError   Code = "provider_error"
	CodeProviderTimeout Code = "timeout"
	CodeRateLimited     Code = "rate_limited"
	CodeInternal        Code = "internal"
	// CodeUnavailable: the database cannot be reached right now (503 with
	// Retry-After); the request may be retried as it was.
	CodeUnavailable Code = "unavailable"
	// CodeQueryFailed is an error the database raised while running a
	// statement; the message is the database's own (redacted).
	CodeQueryFailed Code = "query_failed"
)

// The provider failures a files, schema or query call answers with the
// provider's own code (502), so a client can tell bad credentials from an
// unreachable host.
const (
	CodeAuthFailed       Code = "auth_failed"
	CodePermissionDenied Code = "permission_denied"
	CodeUnreachable      Code = "unreachable"
	CodeTLSError         Code = "tls_error"
	CodeBlockedAddress   Code = "blocked_address"
	CodeInvalidConfig    Code = "invalid_config"
)

// FieldError is one validation problem, shaped like a pydantic v2 error. Loc
// is relative to the operation's input ("name", "config", "host"); each
// surface prefixes it ("body" for REST, "input" for GraphQL).
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Error is an error the client may see: a code, a message without internals
// or secrets, and for validation every problem found.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// RetryAfter, for rate_limited, is how long the provider asked to wait
	// (0 when it did not say).
	RetryAfter time.Duration
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound() *Error { return errorf(CodeNotFound, "Connection not found") }

func invalid(fields ...FieldError) *Error {
	return &Error{Code: CodeValidation, Message: "Request validation failed", Fields: fields}
}

// fromStore classifies store errors the client may see; anything else is
// passed through to be masked as internal.
func fromStore(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return notFound()
	case errors.Is(err, store.ErrSlugTaken):
		return errorf(CodeConflict, "A connection with this slug already exists")
	case errors.Is(err, store.ErrVersionConflict):
		return errorf(CodeConflict, "The connection was changed by another request; retry")
	case errors.Is(err, store.ErrBadCursor):
		return invalid(FieldError{Loc: []any{"cursor"}, Msg: "Invalid cursor: it is malformed or was made for another sort or order", Type: "value_error"})
	}
	return err
}

// AsError returns the client-visible form of err: an *Error found in the
// chain, or an internal error. internal is true when err must be logged
// because the client sees only a masked message.
func AsError(err error) (e *Error, internal bool) {
	if errors.As(err, &e) {
		return e, false
	}
	if errors.Is(err, store.ErrUnreadable) {
		// One connection's sealed credentials do not open (a damaged
		// row): the same code and sentence its verification records.
		return errorf(CodeInvalidConfig, "%s", unreadableMsg), false
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case providers.CodeTimeout:
			return errorf(CodeProviderTimeout, "%s", pe.Message), false
		case providers.CodeRateLimited:
			e := errorf(CodeRateLimited, "%s", pe.Message)
			e.RetryAfter = pe.RetryAfter
			return e, false
		case providers.CodeUnsupported:
			return errorf(CodeUnsupported, "%s", pe.Message), false
		case providers.CodeNotFound:
			return errorf(CodeNotFound, "%s", pe.Message), false
		case providers.CodeRefused:
			return invalid(FieldError{Loc: []any{"sql"}, Msg: pe.Message, Type: "value_error"}), false
		case providers.CodeQueryFailed:
			return errorf(CodeQueryFailed, "%s", pe.Message), false
		case providers.CodeConflict:
			return errorf(CodeConflict, "%s", pe.Message), false
		case providers.CodeAuthFailed, providers.CodePermissionDenied, providers.CodeUnreachable,
			providers.CodeTLSError, providers.CodeBlockedAddress, providers.CodeInvalidConfig:
			return errorf(Code(pe.Code), "%s", pe.Message), false
		}
		return errorf(CodeProviderError, "%s", pe.Message), false
	}
	if store.IsUnavailable(err) {
		e := errorf(CodeUnavailable, "Database unavailable: retry in a few seconds")
		e.RetryAfter = 5 * time.Second
		return e, false
	}
	return errorf(CodeInternal, "Internal server error"), true
}

// ErrorPresenter is the one place GraphQL errors are shaped: client errors
// carry extensions.code (and fields for validation); anything else is masked
// as internal and logged with the request id.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// Parse and validation errors of the query itself.
			return gqlErr
		}
		e, internal := AsError(err)
		if internal {
			log.ErrorContext(ctx, "internal error", "err", err)
		}
		out := &gqlerror.Error{Message: e.Message, Path: graphql.GetPath(ctx),
			Extensions: map[string]any{"code": string(e.Code)}}
		if len(e.Fields) > 0 {
			out.Extensions["fields"] = e.Fields
		}
		if e.RetryAfter > 0 {
			out.Extensions["retryAfterSeconds"] = int(math.Ceil(e.RetryAfter.Seconds()))
		}
		return out
	}
}

// Recover turns a panic in a resolver into a masked internal error, logged.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p))
		return errors.New("internal panic")
	}
}
