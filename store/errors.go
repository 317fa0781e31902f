package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Errors the store returns; callers classify them with errors.Is.
var (
	// ErrNotFound: no row matched (or it belongs to another tenant).
	ErrNotFound = errors.New("not found")
	// ErrSlugTaken: the slug is already used in the tenant.
	ErrSlugTaken = errors.New("slug already in use")
	// ErrVersionConflict: the row changed since it was read.
	ErrVersionConflict = errors.New("connection changed concurrently")
	// ErrDisabled: the connection is disabled.
	ErrDisabled = errors.New("connection is disabled")
	// ErrWrongKey: a sealed blob did not open with the key ring.
	ErrWrongKey = errors.New("credentials do not open with the configured encryption key")
)

// uniqueViolation reports whether err is a unique-constraint violation and,
// when it can tell, names the index or columns.
func uniqueViolation(err error) (string, bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return pg.ConstraintName, true
	}
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return err.Error(), true
	}
	return "", false
}
