package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/junctionhq/junction/reqid"
	"github.com/junctionhq/junction/rest"
)

// recoverPanics answers a panic in any handler with 500
// {"detail": "Internal server error", "code": "internal", "requestId": ...}
// and logs it through slog (with the request id and a stack), in place of
// chi's Recoverer, which answered an empty 500 and printed the panic value to
// stderr. The panic value itself is never logged: it may hold a secret (see
// describePanic). A panic after the response started cannot change the
// status; the connection is then aborted so the client sees a broken
// response rather than a truncated one that looks whole.
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p) // net/http's own way to abort a response quietly
				}
				logPanic(r.Context(), log, "panic in handler", p, "method", r.Method, "path", r.URL.Path)
				if ww.Status() != 0 || ww.BytesWritten() > 0 {
					panic(http.ErrAbortHandler)
				}
				rest.WriteJSON(ww, http.StatusInternalServerError, map[string]string{
					"detail": "Internal server error", "code": "internal", "requestId": reqid.From(r.Context())})
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// graphqlRecover is gqlgen's recover func: a panic in a resolver becomes a
// masked internal error on its field, logged like recoverPanics does (the
// resolvers' own Recover logs the raw panic value).
func graphqlRecover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logPanic(ctx, log, "panic in resolver", p, "field", graphql.GetPath(ctx).String())
		return errors.New("internal panic")
	}
}

func logPanic(ctx context.Context, log *slog.Logger, msg string, p any, attrs ...any) {
	log.ErrorContext(ctx, msg, append(attrs, "panic", describePanic(p), "stack", string(debug.Stack()))...)
}

// describePanic says what panicked without its value: a runtime error (nil
// dereference, index out of range) is the runtime's own text and holds no
// data; anything else (a string, an error, a value passed to panic) may
// carry a secret, so only its type is told. The stack says where.
func describePanic(p any) string {
	var re runtime.Error
	if err, ok := p.(error); ok && errors.As(err, &re) {
		return re.Error()
	}
	return fmt.Sprintf("%T (value withheld: it may hold a secret)", p)
}
