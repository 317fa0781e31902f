package store

import (
	"time"

	"github.com/uptrace/bun"
)

// Tenant is an organisation; nothing crosses tenants.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`

	ID        string    `bun:"id,pk"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
}

// User is a person or service acting inside one tenant.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID        string    `bun:"id,pk"`
	TenantID  string    `bun:"tenant_id"`
	Name      string    `bun:"name"`
	Email     string    `bun:"email"`
	Role      string    `bun:"role"` // "admin" or "member"
	CreatedAt time.Time `bun:"created_at"`
}

// APIToken is the SHA-256 of a bearer token; the token itself is never stored.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID          string    `bun:"id,pk"`
	TenantID    string    `bun:"tenant_id"`
	UserID      string    `bun:"user_id"`
	TokenSHA256 string    `bun:"token_sha256"`
	CreatedAt   time.Time `bun:"created_at"`
	// LastUsedAt is when the token last authenticated a request, to the
	// minute (written at most once a minute per token); nil: never.
	LastUsedAt *time.Time `bun:"last_used_at"`
	// ExpiresAt is when the token stops authenticating; nil: never.
	ExpiresAt *time.Time `bun:"expires_at"`
}

// Connection is one stored connection. Credentials is the sealed blob;
// SecretFields names the secrets it holds (never their values).
type Connection struct {
	bun.BaseModel `bun:"table:connections"`

	ID                    string     `bun:"id,pk"`
	TenantID              string     `bun:"tenant_id"`
	Name                  string     `bun:"name"`
	Slug                  string     `bun:"slug"`
	Provider              string     `bun:"provider"`
	Config                JSONMap    `bun:"config,type:text"`
	SecretFields          JSONList   `bun:"secret_fields,type:text"`
	Credentials           []byte     `bun:"credentials,nullzero"`
	KeyID                 string     `bun:"key_id,nullzero"`
	Status                string     `bun:"status"`
	Visibility            string     `bun:"visibility"`
	IsDefault             bool       `bun:"is_default"`
	IsFromTemplate        bool       `bun:"is_from_template"`
	LastUsedAt            *time.Time `bun:"last_used_at"`
	LastVerifiedAt        *time.Time `bun:"last_verified_at"`
	VerificationError     *string    `bun:"verification_error"`
	VerificationErrorCode *string    `bun:"verification_error_code"`
	VerificationDetails   JSONMap    `bun:"verification_details,type:text"`
	CreatedAt             time.Time  `bun:"created_at"`
	UpdatedAt             time.Time  `bun:"updated_at"`
	CreatedBy             string     `bun:"created_by"`
	UpdatedBy             string     `bun:"updated_by"`
	Version               int64      `bun:"version"`
}

// HasCredentials reports whether any secret is stored.
func (c *Connection) HasCredentials() bool { return len(c.SecretFields) > 0 }

// Now returns the current time as the store keeps it: UTC, microseconds, so
// values round-trip exactly through both databases and through cursors.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
