package store

import (
	"context"
	"fmt"
	"time"
)

// Browser sessions. A session is started with an API token (POST /login) and
// is identified by a random id the browser keeps in a cookie; only the
// SHA-256 of the id is stored. A session belongs to the token that started
// it: deleting (revoking) the token deletes its sessions (ON DELETE CASCADE)
// and the lookup joins api_tokens as well, so a session never outlives its
// token even where the cascade did not run, nor past the token's expiry.

// CreateSession stores a session for the holder of token: the session id's
// SHA-256, the token's tenant, user and id, and its expiry. It is one
// statement; an unknown token stores nothing and returns ErrNotFound.
// Expired sessions of every user are deleted on the way.
func (s *Store) CreateSession(ctx context.Context, token, sessionID string, expires time.Time) error {
	now := Now()
	if _, err := s.db.NewRaw(`DELETE FROM sessions WHERE expires_at <= ?`, now).Exec(ctx); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	res, err := s.db.NewRaw(`INSERT INTO sessions (id_sha256, tenant_id, user_id, token_id, created_at, expires_at)
		SELECT ?, k.tenant_id, k.user_id, k.id, ?, ? FROM api_tokens k
		WHERE k.token_sha256 = ? AND (k.expires_at IS NULL OR k.expires_at > ?)`,
		HashToken(sessionID), now, expires.UTC().Truncate(time.Microsecond), HashToken(token), now).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// AuthenticateSession returns the tenant and user of an unexpired session
// whose token still exists, or ErrNotFound. It is one statement: it runs on
// every cookie-authenticated request.
func (s *Store) AuthenticateSession(ctx context.Context, sessionID string) (*Principal, error) {
	var row struct {
		UserID, TenantID, UserName, Email, Role, TenantName string
	}
	err := s.db.NewRaw(`SELECT u.id AS user_id, u.tenant_id, u.name AS user_name, u.email, u.role, t.name AS tenant_name
		FROM sessions s
		JOIN api_tokens k ON k.id = s.token_id AND k.user_id = s.user_id AND k.tenant_id = s.tenant_id
		JOIN users u ON u.id = s.user_id
		JOIN tenants t ON t.id = s.tenant_id
		WHERE s.id_sha256 = ? AND s.expires_at > ? AND (k.expires_at IS NULL OR k.expires_at > ?)`,
		HashToken(sessionID), Now(), Now()).Scan(ctx, &row)
	if err != nil {
		return nil, wrap("authenticate session", notFound(err))
	}
	return &Principal{
		Tenant: Tenant{ID: row.TenantID, Name: row.TenantName},
		User:   User{ID: row.UserID, TenantID: row.TenantID, Name: row.UserName, Email: row.Email, Role: row.Role},
	}, nil
}

// DeleteSession ends a session; it reports whether one existed.
func (s *Store) DeleteSession(ctx context.Context, sessionID string) (bool, error) {
	res, err := s.db.NewRaw(`DELETE FROM sessions WHERE id_sha256 = ?`, HashToken(sessionID)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: delete session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
