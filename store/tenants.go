package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// HashToken returns the hex SHA-256 that identifies a token in the database.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Principal is who a token belongs to.
type Principal struct {
	Tenant Tenant
	User   User
}

// Authenticate returns the tenant and user owning token, or ErrNotFound. It
// is one statement: it runs on every request.
func (s *Store) Authenticate(ctx context.Context, token string) (*Principal, error) {
	var row struct {
		UserID, TenantID, UserName, Email, Role, TenantName string
	}
	err := s.db.NewRaw(`SELECT u.id AS user_id, u.tenant_id, u.name AS user_name, u.email, u.role, t.name AS tenant_name
		FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = k.tenant_id
		WHERE k.token_sha256 = ?`, HashToken(token)).Scan(ctx, &row)
	if err != nil {
		return nil, wrap("authenticate", notFound(err))
	}
	return &Principal{
		Tenant: Tenant{ID: row.TenantID, Name: row.TenantName},
		User:   User{ID: row.UserID, TenantID: row.TenantID, Name: row.UserName, Email: row.Email, Role: row.Role},
	}, nil
}

// TenantCount returns how many tenants exist.
func (s *Store) TenantCount(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*Tenant)(nil)).Count(ctx)
	return int(n), err
}

// EnsureUserToken creates the tenant and the user (by name) when missing,
// updates the user's email and role, and stores a new token for them. It
// returns the user.
func (s *Store) EnsureUserToken(ctx context.Context, tenantName, userName, email, role, token string) (*User, error) {
	if role != "admin" && role != "member" {
		return nil, fmt.Errorf("store: role must be admin or member, not %q", role)
	}
	var u User
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var t Tenant
		err := tx.NewSelect().Model(&t).Where("name = ?", tenantName).Scan(ctx)
		if errors.Is(notFound(err), ErrNotFound) {
			t = Tenant{ID: newID(), Name: tenantName, CreatedAt: Now()}
			_, err = tx.NewInsert().Model(&t).Exec(ctx)
		}
		if err != nil {
			return err
		}
		err = tx.NewSelect().Model(&u).Where("tenant_id = ? AND name = ?", t.ID, userName).Scan(ctx)
		switch {
		case errors.Is(notFound(err), ErrNotFound):
			u = User{ID: newID(), TenantID: t.ID, Name: userName, Email: email, Role: role, CreatedAt: Now()}
			_, err = tx.NewInsert().Model(&u).Exec(ctx)
		case err == nil:
			u.Email, u.Role = email, role
			_, err = tx.NewUpdate().Model(&u).Column("email", "role").WherePK().Exec(ctx)
		}
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(&APIToken{ID: newID(), TenantID: t.ID, UserID: u.ID,
			TokenSHA256: HashToken(token), CreatedAt: Now()}).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: ensure user token: %w", err)
	}
	return &u, nil
}

// UsersByID returns the users with the given ids in the tenant, in any order.
func (s *Store) UsersByID(ctx context.Context, tenantID string, ids []string) ([]*User, error) {
	var users []*User
	if len(ids) == 0 {
		return users, nil
	}
	err := s.db.NewSelect().Model(&users).Where("tenant_id = ? AND id IN (?)", tenantID, bun.In(ids)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return users, nil
}

// CheckKeys proves the key ring opens what is stored: every key id in use
// must be in the ring, and one blob per key id must open. It is run at
// start-up so a wrong key stops the server instead of failing later.
func (s *Store) CheckKeys(ctx context.Context) error {
	var ids []string
	if err := s.db.NewSelect().Model((*Connection)(nil)).ColumnExpr("DISTINCT key_id").
		Where("key_id IS NOT NULL").Scan(ctx, &ids); err != nil {
		return fmt.Errorf("store: check keys: %w", err)
	}
	for _, id := range ids {
		if !s.keys.Has(id) {
			return fmt.Errorf("stored credentials are sealed with key %q, which is not configured (have %v): %w", id, s.keys.IDs(), ErrWrongKey)
		}
		c := new(Connection)
		if err := s.db.NewSelect().Model(c).Where("key_id = ?", id).Limit(1).Scan(ctx); err != nil {
			return fmt.Errorf("store: check keys: %w", err)
		}
		if _, err := s.OpenSecrets(c); err != nil {
			return err
		}
	}
	return nil
}

// RotateKeys reseals every credential blob not sealed with the primary key and
// returns how many it rewrote. A second run rewrites nothing.
func (s *Store) RotateKeys(ctx context.Context) (int, error) {
	var rows []*Connection
	if err := s.db.NewSelect().Model(&rows).Where("key_id IS NOT NULL AND key_id <> ?", s.keys.Primary()).Scan(ctx); err != nil {
		return 0, fmt.Errorf("store: rotate keys: %w", err)
	}
	n := 0
	for _, c := range rows {
		secrets, err := s.OpenSecrets(c)
		if err != nil {
			return n, err
		}
		blob, keyID, err := s.keys.Seal(c.TenantID, c.ID, secrets)
		if err != nil {
			return n, err
		}
		res, err := s.db.NewUpdate().Model((*Connection)(nil)).
			Set("credentials = ?", blob).Set("key_id = ?", keyID).Set("version = version + 1").
			Where("id = ? AND version = ?", c.ID, c.Version).Exec(ctx)
		if err != nil {
			return n, fmt.Errorf("store: rotate keys: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	return n, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// NewID returns a new UUIDv7 string (time-ordered, so inserts stay local in indexes).
func NewID() string { return newID() }

// RevokeToken deletes token (found by its SHA-256); it reports whether it
// existed. Requests carrying it are refused from then on.
func (s *Store) RevokeToken(ctx context.Context, token string) (bool, error) {
	res, err := s.db.NewDelete().Model((*APIToken)(nil)).Where("token_sha256 = ?", HashToken(token)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: revoke token: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
