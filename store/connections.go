package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// InsertConnection stores c with its secrets sealed under the primary key.
// When autoSlug is set and c.Slug is taken, the next free "-2", "-3", ...
// suffix is used; otherwise a taken slug is ErrSlugTaken. When c.IsDefault is
// set, the previous default of the provider in the tenant loses it in the same
// transaction.
func (s *Store) InsertConnection(ctx context.Context, c *Connection, secrets map[string]string, autoSlug bool) error {
	blob, keyID, err := s.keys.Seal(c.TenantID, c.ID, secrets)
	if err != nil {
		return fmt.Errorf("store: seal: %w", err)
	}
	c.Credentials, c.KeyID, c.SecretFields = blob, keyID, secretNames(secrets)
	if c.Version == 0 {
		c.Version = 1
	}
	base := c.Slug
	for attempt := 0; ; attempt++ {
		if autoSlug {
			slug, err := s.freeSlug(ctx, c.TenantID, base)
			if err != nil {
				return err
			}
			c.Slug = slug
		}
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			wantDefault := c.IsDefault
			c.IsDefault = false
			if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
				return err
			}
			if wantDefault {
				return s.switchDefault(ctx, tx, c)
			}
			return nil
		})
		if name, ok := uniqueViolation(err); ok && strings.Contains(name, "slug") {
			if autoSlug && attempt < maxSlugAttempts {
				// Lost a race for the slug: pick the next free one. With N
				// inserts of one name at once, each loses at most N-1 times.
				continue
			}
			return ErrSlugTaken
		}
		if err != nil {
			return fmt.Errorf("store: insert connection: %w", err)
		}
		return nil
	}
}

// maxSlugAttempts bounds the retries of an insert that keeps losing its
// derived slug to concurrent inserts of the same name.
const maxSlugAttempts = 100

// freeSlug returns base, or base-N for the smallest N >= 2 not used in the tenant.
func (s *Store) freeSlug(ctx context.Context, tenantID, base string) (string, error) {
	var taken []string
	err := s.db.NewSelect().Model((*Connection)(nil)).Column("slug").
		Where("tenant_id = ?", tenantID).
		Where("(slug = ? OR slug LIKE ? ESCAPE '\\')", base, escapeLike(base)+"-%").
		Scan(ctx, &taken)
	if err != nil {
		return "", fmt.Errorf("store: slugs: %w", err)
	}
	if !slices.Contains(taken, base) {
		return base, nil
	}
	for n := 2; ; n++ {
		cand := base + "-" + strconv.Itoa(n)
		if !slices.Contains(taken, cand) {
			return cand, nil
		}
	}
}

// switchDefault makes c the only default of its provider in its tenant. The
// rows of that (tenant, provider) are locked first on PostgreSQL so concurrent
// switches serialise instead of tripping the partial unique index; SQLite
// transactions are already serial (BEGIN IMMEDIATE).
func (s *Store) switchDefault(ctx context.Context, tx bun.Tx, c *Connection) error {
	if s.Postgres() {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, c.TenantID+"/"+c.Provider); err != nil {
			return err
		}
	}
	now := Now()
	if _, err := tx.NewUpdate().Model((*Connection)(nil)).
		Set("is_default = FALSE").Set("updated_at = ?", now).Set("version = version + 1").
		Where("tenant_id = ? AND provider = ? AND is_default AND id <> ?", c.TenantID, c.Provider, c.ID).
		Exec(ctx); err != nil {
		return err
	}
	res, err := tx.NewUpdate().Model((*Connection)(nil)).
		Set("is_default = TRUE").Set("updated_at = ?", now).Set("updated_by = ?", c.UpdatedBy).Set("version = version + 1").
		Where("tenant_id = ? AND id = ?", c.TenantID, c.ID).
		Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetDefault makes connection id the default of its provider in the tenant,
// atomically, and returns the updated row.
func (s *Store) SetDefault(ctx context.Context, tenantID, id, userID string) (*Connection, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		c := new(Connection)
		if err := tx.NewSelect().Model(c).Column("id", "tenant_id", "provider").
			Where("tenant_id = ? AND id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		c.UpdatedBy = userID
		return s.switchDefault(ctx, tx, c)
	})
	if err != nil {
		return nil, wrap("set default", err)
	}
	return s.GetConnection(ctx, tenantID, id)
}

// GetConnection returns the tenant's connection with id.
func (s *Store) GetConnection(ctx context.Context, tenantID, id string) (*Connection, error) {
	c, err := s.selectConnection(ctx, "tenant_id = ? AND id = ?", tenantID, id)
	if err != nil {
		return nil, wrap("get connection", notFound(err))
	}
	return c, nil
}

// GetConnectionBySlug returns the tenant's connection with slug.
func (s *Store) GetConnectionBySlug(ctx context.Context, tenantID, slug string) (*Connection, error) {
	c, err := s.selectConnection(ctx, "tenant_id = ? AND slug = ?", tenantID, slug)
	if err != nil {
		return nil, wrap("get connection", notFound(err))
	}
	return c, nil
}

// UpdateConnection writes c if its stored version is still c.Version, and
// bumps the version. A nil secrets map keeps the stored blob; a non-nil one
// reseals it. A changed slug that is taken is ErrSlugTaken; a stale version is
// ErrVersionConflict.
func (s *Store) UpdateConnection(ctx context.Context, c *Connection, secrets map[string]string) error {
	cols := []string{"name", "slug", "config", "status", "visibility", "verification_error",
		"verification_error_code", "verification_details", "last_verified_at", "last_used_at",
		"updated_at", "updated_by", "version"}
	if secrets != nil {
		blob, keyID, err := s.keys.Seal(c.TenantID, c.ID, secrets)
		if err != nil {
			return fmt.Errorf("store: seal: %w", err)
		}
		c.Credentials, c.KeyID, c.SecretFields = blob, keyID, secretNames(secrets)
		cols = append(cols, "credentials", "key_id", "secret_fields")
	}
	prev := c.Version
	c.Version++
	res, err := s.db.NewUpdate().Model(c).Column(cols...).
		Where("tenant_id = ? AND id = ? AND version = ?", c.TenantID, c.ID, prev).Exec(ctx)
	if name, ok := uniqueViolation(err); ok && strings.Contains(name, "slug") {
		c.Version = prev
		return ErrSlugTaken
	}
	if err != nil {
		c.Version = prev
		return fmt.Errorf("store: update connection: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c.Version = prev
		if _, err := s.GetConnection(ctx, c.TenantID, c.ID); err != nil {
			return err
		}
		return ErrVersionConflict
	}
	return nil
}

// DeleteConnection removes the tenant's connection with id.
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) error {
	res, err := s.db.NewDelete().Model((*Connection)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete connection: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// OpenSecrets decrypts c's credentials. It fails closed with ErrUnreadable
// when they do not open (see KeyRing.Open) or when what opens does not hold
// exactly the secrets c.SecretFields names: a row whose names and blob
// disagree is damaged, never read as "no secrets".
func (s *Store) OpenSecrets(c *Connection) (map[string]string, error) {
	m, err := s.keys.Open(c.TenantID, c.ID, c.KeyID, c.Credentials)
	if err != nil {
		return nil, fmt.Errorf("store: connection %s: %w", c.ID, err)
	}
	if !slices.Equal(secretNames(m), sortedNames(c.SecretFields)) {
		return nil, fmt.Errorf("store: connection %s: the sealed credentials do not hold the secrets the row names: %w", c.ID, ErrUnreadable)
	}
	return m, nil
}

func sortedNames(names JSONList) JSONList {
	out := slices.Clone(names)
	if out == nil {
		out = JSONList{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func secretNames(secrets map[string]string) JSONList {
	names := make(JSONList, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrSlugTaken) || errors.Is(err, ErrVersionConflict) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SortKeys are the columns the list can sort by.
var SortKeys = []string{"name", "created_at", "updated_at", "last_verified_at", "status", "provider"}

// ListParams selects one page of a tenant's connections.
type ListParams struct {
	TenantID string
	// ViewerID and ViewerAdmin decide visibility: admins see every connection,
	// others see global ones and their own private ones.
	ViewerID    string
	ViewerAdmin bool
	Search      string
	Sort        string // one of SortKeys
	Desc        bool
	Limit       int
	Offset      int
	// Cursor, when set, selects the page after the row it names (offset is ignored).
	Cursor string
}

// ListResult is one page.
type ListResult struct {
	Connections []*Connection
	Total       int
	HasNext     bool
	// NextCursor names the last row of the page; empty when there is no next page.
	NextCursor string
}

// ErrBadCursor: the cursor is malformed or was made for another sort.
var ErrBadCursor = errors.New("invalid cursor")

type cursor struct {
	Sort  string  `json:"s"`
	Desc  bool    `json:"d"`
	Value *string `json:"v"`
	ID    string  `json:"i"`
}

// ListConnections returns one page, ordered by p.Sort then id, with NULLs last
// in ascending order (first in descending), so that pages are an exact
// partition of the ordering: rows inserted between pages cause no repeats or gaps.
func (s *Store) ListConnections(ctx context.Context, p ListParams) (*ListResult, error) {
	if !slices.Contains(SortKeys, p.Sort) {
		return nil, fmt.Errorf("store: unknown sort %q", p.Sort)
	}
	// The statements are written with ? placeholders and run through
	// queryParams, so on PostgreSQL each shape (sort, order, viewer,
	// search, cursor) is parsed and planned once per connection.
	where := "tenant_id = ?"
	args := []any{p.TenantID}
	if !p.ViewerAdmin {
		where += " AND (visibility = 'global' OR created_by = ?)"
		args = append(args, p.ViewerID)
	}
	if p.Search != "" {
		pat := "%" + escapeLike(strings.ToLower(p.Search)) + "%"
		where += ` AND (LOWER(name) LIKE ? ESCAPE '\' OR LOWER(slug) LIKE ? ESCAPE '\')`
		args = append(args, pat, pat)
	}
	total, err := s.countConnections(ctx, p, where, args)
	if err != nil {
		return nil, fmt.Errorf("store: count connections: %w", err)
	}
	// p.Sort is one of SortKeys: a plain lower-case column name.
	col := p.Sort
	dir := "ASC"
	if p.Desc {
		dir = "DESC"
	}
	// Every order is the one of an index, so the page is read from its
	// start (no sort of the tenant's rows): (tenant_id, x, id) for the
	// NOT NULL keys, and for last_verified_at, the only nullable one, the
	// index of migration 0006 on (tenant_id, (last_verified_at IS NULL),
	// last_verified_at, id) puts NULLs last ascending and first descending
	// on both databases. TestListUsesIndexes checks the plans, PostgreSQL's
	// generic ones included.
	nullable := p.Sort == "last_verified_at"
	order := col + " " + dir + ", id " + dir
	if nullable {
		order = "(" + col + " IS NULL) " + dir + ", " + order
	}
	offset := p.Offset
	if p.Cursor != "" {
		offset = 0
		c, err := decodeCursor(p.Cursor)
		if err != nil || c.Sort != p.Sort || c.Desc != p.Desc {
			return nil, ErrBadCursor
		}
		var v any
		if c.Value != nil {
			v = *c.Value
			if isTimeColumn(p.Sort) {
				t, err := time.Parse(time.RFC3339Nano, *c.Value)
				if err != nil {
					return nil, ErrBadCursor
				}
				v = t
			}
		}
		// Row comparisons in the index's own terms, so that both
		// databases start the index scan at the cursor.
		op := ">"
		if p.Desc {
			op = "<"
		}
		switch {
		case !nullable && v == nil:
			return nil, ErrBadCursor
		case !nullable:
			where += " AND (" + col + ", id) " + op + " (?, ?)"
			args = append(args, v, c.ID)
		case v != nil:
			where += " AND ((" + col + " IS NULL), " + col + ", id) " + op + " (FALSE, ?, ?)"
			args = append(args, v, c.ID)
		case !p.Desc:
			where += " AND (" + col + " IS NULL) AND id > ?"
			args = append(args, c.ID)
		default:
			where += " AND ((" + col + " IS NOT NULL) OR id < ?)"
			args = append(args, c.ID)
		}
	}
	// LIMIT and OFFSET are literals (integers the resolver bounds): a
	// parameter there would let PostgreSQL's generic plan guess the row
	// count instead of seeing a page.
	rows, err := s.selectConnections(ctx, where+" ORDER BY "+order+
		" LIMIT "+strconv.Itoa(p.Limit+1)+" OFFSET "+strconv.Itoa(max(offset, 0)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	out := &ListResult{Total: total}
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		out.HasNext = true
	}
	out.Connections = rows
	if out.HasNext && len(rows) > 0 {
		out.NextCursor = encodeCursor(p.Sort, p.Desc, rows[len(rows)-1])
	}
	return out, nil
}

// countConnections is the list's total. Without a search it sums the few
// rows of connection_counts that the viewer's visibility selects (kept by
// the triggers of migration 0006), so it costs the same at 100,000
// connections as at 10; a search counts the rows where (the list's filter,
// with args) matches.
func (s *Store) countConnections(ctx context.Context, p ListParams, where string, args []any) (int, error) {
	query := "SELECT count(*) FROM connections WHERE " + where
	if p.Search == "" {
		query = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM connection_counts WHERE " + where
	}
	rows, err := s.queryParams(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		return 0, errors.Join(rows.Err(), sql.ErrNoRows)
	}
	if err := rows.Scan(&n); err != nil {
		return 0, err
	}
	return int(n), rows.Close()
}

func isTimeColumn(sort string) bool {
	return sort == "created_at" || sort == "updated_at" || sort == "last_verified_at"
}

func encodeCursor(sort string, desc bool, c *Connection) string {
	cur := cursor{Sort: sort, Desc: desc, ID: c.ID}
	var v string
	switch sort {
	case "name":
		v = c.Name
	case "status":
		v = c.Status
	case "provider":
		v = c.Provider
	case "created_at":
		v = c.CreatedAt.UTC().Format(time.RFC3339Nano)
	case "updated_at":
		v = c.UpdatedAt.UTC().Format(time.RFC3339Nano)
	case "last_verified_at":
		if c.LastVerifiedAt == nil {
			b, _ := json.Marshal(cur)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		v = c.LastVerifiedAt.UTC().Format(time.RFC3339Nano)
	}
	cur.Value = &v
	b, _ := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	c := new(cursor)
	if err := json.Unmarshal(b, c); err != nil || c.ID == "" {
		return nil, ErrBadCursor
	}
	return c, nil
}

// Verification is the outcome of a live check.
type Verification struct {
	At        time.Time
	Status    string // "active" or "error"
	Error     *string
	ErrorCode *string
	Details   JSONMap
}

// RecordVerification stores the outcome of a check on the tenant's
// connection. It writes only the verification columns, so it never loses a
// concurrent edit, and it does nothing to a connection disabled meanwhile
// (ErrDisabled).
func (s *Store) RecordVerification(ctx context.Context, tenantID, id string, v Verification) error {
	if v.Details == nil {
		v.Details = JSONMap{}
	}
	res, err := s.db.NewUpdate().Model((*Connection)(nil)).
		Set("status = ?", v.Status).Set("last_verified_at = ?", v.At).
		Set("verification_error = ?", v.Error).Set("verification_error_code = ?", v.ErrorCode).
		Set("verification_details = ?", v.Details).Set("version = version + 1").
		Where("tenant_id = ? AND id = ? AND status <> 'disabled'", tenantID, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record verification: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetConnection(ctx, tenantID, id); err != nil {
			return err
		}
		return ErrDisabled
	}
	return nil
}

// AcquireTokenLease takes the lease on refreshing the OAuth token of the
// tenant's connection for ttl, unless another holder's lease is still
// running. It reports whether holder now has it. The lease columns are not
// part of the row's version, so taking one never conflicts with an edit.
func (s *Store) AcquireTokenLease(ctx context.Context, tenantID, id, holder string, ttl time.Duration) (bool, error) {
	now := Now()
	res, err := s.db.NewUpdate().Model((*Connection)(nil)).
		Set("token_lease_holder = ?", holder).Set("token_lease_until = ?", now.Add(ttl)).
		Where("tenant_id = ? AND id = ?", tenantID, id).
		Where("(token_lease_until IS NULL OR token_lease_until < ? OR token_lease_holder = ?)", now, holder).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: token lease: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		if _, err := s.GetConnection(ctx, tenantID, id); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// ReleaseTokenLease ends holder's lease, if it still has it.
func (s *Store) ReleaseTokenLease(ctx context.Context, tenantID, id, holder string) error {
	_, err := s.db.NewUpdate().Model((*Connection)(nil)).
		Set("token_lease_holder = NULL").Set("token_lease_until = NULL").
		Where("tenant_id = ? AND id = ? AND token_lease_holder = ?", tenantID, id, holder).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: token lease: %w", err)
	}
	return nil
}

// TouchLastUsed records that the tenant's connection was used at `at`,
// unless it was already recorded within `every` before it: a browse that
// makes many calls a minute writes at most once. It writes only last_used_at
// (not the version or updated_at), so it never conflicts with an edit nor
// retires the connection's open provider session.
func (s *Store) TouchLastUsed(ctx context.Context, tenantID, id string, at time.Time, every time.Duration) error {
	_, err := s.db.NewUpdate().Model((*Connection)(nil)).
		Set("last_used_at = ?", at).
		Where("tenant_id = ? AND id = ?", tenantID, id).
		Where("(last_used_at IS NULL OR last_used_at < ?)", at.Add(-every)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: touch last used: %w", err)
	}
	return nil
}

// reRedactVersion is the schema_migrations version that records ReRedact ran.
const reRedactVersion = "0003_reredact"

// reRedactPage is how many connections ReRedact reads at a time.
const reRedactPage = 200

// ReRedact runs once per database (recorded in schema_migrations as
// 0003_reredact; later calls do nothing and return 0): it passes the stored
// verification_error of every connection through redactText and its
// verification_details through redactDetails, each with the connection's
// own secrets, and writes back what changed. Text stored before redaction
// covered every encoding may hold a secret an upstream echoed. A connection
// whose credentials do not open cannot be redacted against them: its stored
// text is replaced by ErrUnreadable's sentence and its details emptied. Only
// those two columns are written (not the version), and only while the row's
// version is still the one read. It returns how many connections changed.
// The redaction is passed in, so the store needs no provider package.
func (s *Store) ReRedact(ctx context.Context, redactText func(text string, secrets map[string]string) string,
	redactDetails func(details map[string]any, secrets map[string]string) map[string]any) (int, error) {
	done, err := s.db.NewSelect().Table("schema_migrations").Where("version = ?", reRedactVersion).Exists(ctx)
	if err != nil || done {
		return 0, wrap("re-redact", err)
	}
	changed := 0
	after := ""
	for {
		var rows []*Connection
		if err := s.db.NewSelect().Model(&rows).Where("id > ?", after).OrderExpr("id").Limit(reRedactPage).Scan(ctx); err != nil {
			return changed, fmt.Errorf("store: re-redact: %w", err)
		}
		for _, c := range rows {
			for attempt := 0; ; attempt++ {
				n, err := s.reRedactRow(ctx, c, redactText, redactDetails)
				if err != nil {
					return changed, err
				}
				if n >= 0 || attempt == 3 {
					changed += max(n, 0)
					break
				}
				// Verified meanwhile: redact what was written instead.
				if c, err = s.GetConnection(ctx, c.TenantID, c.ID); errors.Is(err, ErrNotFound) {
					break
				} else if err != nil {
					return changed, err
				}
			}
		}
		if len(rows) < reRedactPage {
			break
		}
		after = rows[len(rows)-1].ID
	}
	if _, err := s.db.NewInsert().Model(&struct {
		bun.BaseModel `bun:"table:schema_migrations"`
		Version       string `bun:"version,pk"`
	}{Version: reRedactVersion}).On("CONFLICT (version) DO NOTHING").Exec(ctx); err != nil {
		return changed, fmt.Errorf("store: re-redact: %w", err)
	}
	return changed, nil
}

// reRedactRow redacts one connection's stored verification text: 1 when it
// changed it, 0 when nothing had to change, -1 when the row changed since c
// was read.
func (s *Store) reRedactRow(ctx context.Context, c *Connection, redactText func(string, map[string]string) string,
	redactDetails func(map[string]any, map[string]string) map[string]any) (int, error) {
	if c.VerificationError == nil && len(c.VerificationDetails) == 0 {
		return 0, nil
	}
	msg, details := c.VerificationError, JSONMap{}
	secrets, err := s.OpenSecrets(c)
	switch {
	case errors.Is(err, ErrUnreadable):
		if msg != nil {
			m := ErrUnreadable.Error()
			msg = &m
		}
	case err != nil:
		return 0, err
	default:
		if msg != nil {
			m := redactText(*msg, secrets)
			msg = &m
		}
		if len(c.VerificationDetails) > 0 {
			details = redactDetails(c.VerificationDetails, secrets)
		}
	}
	before, _ := json.Marshal([]any{c.VerificationError, c.VerificationDetails})
	after, _ := json.Marshal([]any{msg, details})
	if string(before) == string(after) {
		return 0, nil
	}
	res, err := s.db.NewUpdate().Model((*Connection)(nil)).
		Set("verification_error = ?", msg).Set("verification_details = ?", details).
		Where("id = ? AND version = ?", c.ID, c.Version).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: re-redact: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return -1, nil
	}
	return 1, nil
}
