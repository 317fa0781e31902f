package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
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

// Authenticate returns the tenant and user owning token, or ErrNotFound (an
// unknown, revoked or expired token). It is one statement on almost every
// request: the token's last use is written back by a second one at most once
// a minute per token (touchToken).
func (s *Store) Authenticate(ctx context.Context, token string) (*Principal, error) {
	var row struct {
		UserID, TenantID, UserName, Email, Role, TenantName, TokenID string
		LastUsedAt                                                   *time.Time
	}
	now := Now()
	err := s.db.NewRaw(`SELECT u.id AS user_id, u.tenant_id, u.name AS user_name, u.email, u.role, t.name AS tenant_name,
		k.id AS token_id, k.last_used_at
		FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = k.tenant_id
		WHERE k.token_sha256 = ? AND (k.expires_at IS NULL OR k.expires_at > ?)`, HashToken(token), now).Scan(ctx, &row)
	if err != nil {
		return nil, wrap("authenticate", notFound(err))
	}
	s.touchToken(ctx, row.TokenID, row.LastUsedAt, now)
	return &Principal{
		Tenant: Tenant{ID: row.TenantID, Name: row.TenantName},
		User:   User{ID: row.UserID, TenantID: row.TenantID, Name: row.UserName, Email: row.Email, Role: row.Role},
	}, nil
}

// TokenUseResolution is how precisely a token's last use is recorded: it is
// written when the stored value is older than this, so a busy token costs
// one UPDATE a minute, not one per request.
const TokenUseResolution = time.Minute

// touchToken records that token id was used at now, unless its last use
// (as read with it) is more recent than TokenUseResolution. The UPDATE is
// conditional, so processes sharing a database do not all write it. A
// failure is logged, not returned: it must not refuse the request.
func (s *Store) touchToken(ctx context.Context, id string, last *time.Time, now time.Time) {
	if last != nil && now.Sub(*last) < TokenUseResolution {
		return
	}
	cutoff := now.Add(-TokenUseResolution)
	if _, err := s.db.NewRaw(`UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, id, cutoff).Exec(ctx); err != nil {
		s.log.WarnContext(ctx, "could not record a token's last use", "token_id", id, "err", err)
	}
}

// TokenInfo describes one API token for audits; the token itself is never
// stored, so it is never shown.
type TokenInfo struct {
	ID         string     `json:"id"`
	Tenant     string     `json:"tenant"`
	User       string     `json:"user"`
	Email      string     `json:"email"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
}

// Expired reports whether the token no longer authenticates at now.
func (t TokenInfo) Expired(now time.Time) bool { return t.ExpiresAt != nil && !t.ExpiresAt.After(now) }

// ListTokens returns every API token (of the tenant named tenant, when it is
// not empty), oldest first.
func (s *Store) ListTokens(ctx context.Context, tenant string) ([]TokenInfo, error) {
	var rows []struct {
		ID, TenantName, UserName, Email, Role string
		CreatedAt                             time.Time
		LastUsedAt, ExpiresAt                 *time.Time
	}
	q := `SELECT k.id, t.name AS tenant_name, u.name AS user_name, u.email, u.role, k.created_at, k.last_used_at, k.expires_at
		FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = k.tenant_id`
	var args []any
	if tenant != "" {
		q += ` WHERE t.name = ?`
		args = append(args, tenant)
	}
	q += ` ORDER BY k.created_at, k.id`
	if err := s.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, TokenInfo{ID: r.ID, Tenant: r.TenantName, User: r.UserName, Email: r.Email, Role: r.Role,
			CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utc(r.LastUsedAt), ExpiresAt: utc(r.ExpiresAt)})
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// TenantCount returns how many tenants exist.
func (s *Store) TenantCount(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*Tenant)(nil)).Count(ctx)
	return int(n), err
}

// EnsureUserToken creates the tenant and the user (by name) when missing,
// updates the user's email and role, and stores a new token for them that
// does not expire. It returns the user.
func (s *Store) EnsureUserToken(ctx context.Context, tenantName, userName, email, role, token string) (*User, error) {
	u, _, err := s.CreateToken(ctx, tenantName, userName, email, role, token, time.Time{})
	return u, err
}

// CreateToken is EnsureUserToken with an expiry (zero: never); it also
// returns the new token's row (its id is what token list shows).
func (s *Store) CreateToken(ctx context.Context, tenantName, userName, email, role, token string, expires time.Time) (*User, *APIToken, error) {
	if role != "admin" && role != "member" {
		return nil, nil, fmt.Errorf("store: role must be admin or member, not %q", role)
	}
	var u User
	var k *APIToken
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
		k = &APIToken{ID: newID(), TenantID: t.ID, UserID: u.ID, TokenSHA256: HashToken(token), CreatedAt: Now()}
		if !expires.IsZero() {
			e := expires.UTC().Truncate(time.Microsecond)
			k.ExpiresAt = &e
		}
		_, err = tx.NewInsert().Model(k).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: ensure user token: %w", err)
	}
	return &u, k, nil
}

// UsersByID returns the users with the given ids in the tenant, in any order.
func (s *Store) UsersByID(ctx context.Context, tenantID string, ids []string) ([]*User, error) {
	var users []*User
	if len(ids) == 0 {
		return users, nil
	}
	if s.db.Dialect().Name() == dialect.PG {
		// One prepared statement for any number of ids (a page's users
		// are read on every list request), scanned without reflection.
		rows, err := s.queryParams(ctx, "SELECT id, tenant_id, name, email, role, created_at FROM users "+
			"WHERE tenant_id = ? AND id = ANY(?)", tenantID, ids)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			u := new(User)
			if err := rows.Scan(&u.ID, &u.TenantID, &u.Name, &u.Email, &u.Role, &u.CreatedAt); err != nil {
				return nil, fmt.Errorf("store: users: %w", err)
			}
			users = append(users, u)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		return users, nil
	}
	err := s.db.NewSelect().Model(&users).Where("tenant_id = ? AND id IN (?)", tenantID, bun.In(ids)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return users, nil
}

// keyCheck is one key id's sealed canary: opening it proves that the key
// the ring holds under that id is the one the data was sealed with.
type keyCheck struct {
	bun.BaseModel `bun:"table:key_checks"`

	KeyID     string    `bun:"key_id,pk"`
	Sealed    []byte    `bun:"sealed"`
	CreatedAt time.Time `bun:"created_at"`
}

// legacyProbeRows bounds how many connections sealed with a key are tried
// when a database from before key-check rows has none for it.
const legacyProbeRows = 100

// CheckKeys proves the key ring is the one the data was sealed with, against
// the key-check rows (one sealed canary per key id), never a tenant's data:
//
//   - every key of the ring that has a key-check row must open it;
//   - every key id that has a key-check row and still seals connections must
//     be in the ring (the old key after a rotation that was not run);
//   - a key id no key-check row knows is a damaged row: its connections fail
//     alone (ErrUnreadable), start-up goes on;
//   - the primary key gets its key-check row when it has none (first start,
//     a new key).
//
// Key ids are derived from the keys; a key-check row under another id (a
// label an older version stored) is matched to the ring's key that opens it.
// A database from before key-check rows (none at all) is adopted: a key id
// in use must be in the ring and open one of its connections, which then
// earns it its row. A wrong key fails with ErrWrongKey.
func (s *Store) CheckKeys(ctx context.Context) error {
	var checks []keyCheck
	if err := s.db.NewSelect().Model(&checks).Scan(ctx); err != nil {
		return fmt.Errorf("store: check keys: %w", err)
	}
	checked := map[string]bool{}
	for _, c := range checks {
		checked[c.KeyID] = true
		// A key is known by what it is: an id no label names (a label
		// of an older configuration) belongs to the key that opens its
		// key-check value, if the ring has it.
		s.keys.recognise(c.KeyID, c.Sealed)
		if s.keys.Has(c.KeyID) && !s.keys.openCheck(c.KeyID, c.Sealed) {
			return fmt.Errorf("the configured key %q is not the key stored credentials were sealed with under that id: %w", c.KeyID, ErrWrongKey)
		}
	}
	adopted := len(checks) > 0
	var used []string
	if err := s.db.NewSelect().Model((*Connection)(nil)).ColumnExpr("DISTINCT key_id").
		Where("key_id IS NOT NULL").Scan(ctx, &used); err != nil {
		return fmt.Errorf("store: check keys: %w", err)
	}
	for _, id := range used {
		switch {
		case checked[id]:
			if !s.keys.Has(id) {
				return fmt.Errorf("stored credentials are sealed with key %q, which is not configured (have %s): %w", id, strings.Join(s.keys.Names(), ", "), ErrWrongKey)
			}
		case s.keys.Has(id):
			// Sealed before key-check rows existed (or by a process that
			// did not record its key): adopt the key if it opens what it
			// sealed.
			ok, err := s.opensAny(ctx, id, legacyProbeRows)
			switch {
			case err != nil:
				return err
			case ok:
				if err := s.writeKeyCheck(ctx, id); err != nil {
					return err
				}
			case adopted:
				s.log.WarnContext(ctx, "no connection sealed with this encryption key id opens; their credentials must be entered again", "key_id", id)
			default:
				return fmt.Errorf("no stored credentials sealed with key %q open with the configured key of that id: %w", id, ErrWrongKey)
			}
		case adopted:
			// No process ever recorded this id: the rows naming it are
			// damaged, and fail alone when read.
			s.log.WarnContext(ctx, "connections name an encryption key id no key-check row knows; their credentials cannot be opened", "key_id", id)
		default:
			return fmt.Errorf("stored credentials are sealed with key %q, which is not configured (have %s): %w", id, strings.Join(s.keys.Names(), ", "), ErrWrongKey)
		}
	}
	if !checked[s.keys.Primary()] {
		return s.writeKeyCheck(ctx, s.keys.Primary())
	}
	return nil
}

// opensAny reports whether one of the first limit (0: all) connections
// sealed with key id opens.
func (s *Store) opensAny(ctx context.Context, id string, limit int) (bool, error) {
	var rows []*Connection
	q := s.db.NewSelect().Model(&rows).Column("id", "tenant_id", "credentials", "key_id", "secret_fields").
		Where("key_id = ?", id).OrderExpr("id")
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	if err := q.Scan(ctx); err != nil {
		return false, fmt.Errorf("store: check keys: %w", err)
	}
	for _, c := range rows {
		if _, err := s.OpenSecrets(c); err == nil {
			return true, nil
		}
	}
	return false, nil
}

// writeKeyCheck stores key id's key-check row unless one exists, then proves
// the stored one opens (another process may have written it first, with
// another key under the same id).
func (s *Store) writeKeyCheck(ctx context.Context, id string) error {
	sealed, err := s.keys.sealCheck(id)
	if err != nil {
		return err
	}
	if _, err := s.db.NewInsert().Model(&keyCheck{KeyID: id, Sealed: sealed, CreatedAt: Now()}).
		On("CONFLICT (key_id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("store: write key check: %w", err)
	}
	var c keyCheck
	if err := s.db.NewSelect().Model(&c).Where("key_id = ?", id).Scan(ctx); err != nil {
		return fmt.Errorf("store: write key check: %w", err)
	}
	if !s.keys.openCheck(id, c.Sealed) {
		return fmt.Errorf("the configured key %q is not the key stored credentials were sealed with under that id: %w", id, ErrWrongKey)
	}
	return nil
}

// RotateKeys reseals every credential blob not sealed with the primary key and
// returns how many it rewrote. A second run rewrites nothing. Rows stored
// under a label or another name of a key (older versions stored labels) are
// resealed too, so every row ends up under the primary key's derived id and
// the new key alone, configured any way, opens them. It runs
// CheckKeys first (so the primary key has its key-check row); a connection
// whose credentials do not open is left as it is, logged, and does not stop
// the rotation. The key-check row of an older key is removed once no
// connection it could open is left sealed with it, so a process configured
// with the new key alone starts.
func (s *Store) RotateKeys(ctx context.Context) (int, error) {
	if err := s.CheckKeys(ctx); err != nil {
		return 0, err
	}
	var rows []*Connection
	if err := s.db.NewSelect().Model(&rows).Where("key_id IS NOT NULL AND key_id <> ?", s.keys.Primary()).Scan(ctx); err != nil {
		return 0, fmt.Errorf("store: rotate keys: %w", err)
	}
	n := 0
	for _, c := range rows {
		secrets, err := s.OpenSecrets(c)
		if errors.Is(err, ErrUnreadable) {
			s.log.WarnContext(ctx, "rotate keys: credentials cannot be opened, left as they are; enter them again",
				"tenant_id", c.TenantID, "connection_id", c.ID, "key_id", c.KeyID)
			continue
		}
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
	var ids []string
	if err := s.db.NewSelect().Model((*keyCheck)(nil)).Column("key_id").Where("key_id <> ?", s.keys.Primary()).Scan(ctx, &ids); err != nil {
		return n, fmt.Errorf("store: rotate keys: %w", err)
	}
	for _, id := range ids {
		ok, err := s.opensAny(ctx, id, 0)
		if err != nil {
			return n, err
		}
		if ok {
			// Some connection still needs the old key (it changed while
			// being resealed): the next run reseals it.
			continue
		}
		if _, err := s.db.NewDelete().Model((*keyCheck)(nil)).Where("key_id = ?", id).Exec(ctx); err != nil {
			return n, fmt.Errorf("store: rotate keys: %w", err)
		}
	}
	return n, nil
}

// RetiredKeysInUse returns the derived ids of the ring's keys other than
// the primary that stored credentials still need: those whose key-check row
// RotateKeys kept, because a connection it could open is still sealed with
// them. Empty after a complete rotation: the old keys can be dropped.
func (s *Store) RetiredKeysInUse(ctx context.Context) ([]string, error) {
	var ids []string
	if err := s.db.NewSelect().Model((*keyCheck)(nil)).Column("key_id").Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("store: key checks: %w", err)
	}
	var out []string
	for _, id := range ids {
		if d := s.keys.resolve(id); d != "" && d != s.keys.Primary() && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// NewID returns a new UUIDv7 string (time-ordered, so inserts stay local in indexes).
func NewID() string { return newID() }

// RevokeTokenID deletes the token with the given id (as token list shows
// it); it reports whether it existed.
func (s *Store) RevokeTokenID(ctx context.Context, id string) (bool, error) {
	res, err := s.db.NewDelete().Model((*APIToken)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: revoke token: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

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
