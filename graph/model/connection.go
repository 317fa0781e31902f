package model

import (
	"time"

	"github.com/junctionhq/junction/store"
)

// Connection is one stored connection as both surfaces serve it: GraphQL
// fields and REST JSON keys are the same, and every key is always present
// (null, never omitted). Lazy fields (createdByUser, updatedByUser,
// editSettings) are resolvers, not struct fields.
type Connection struct {
	ID                    string           `json:"id"`
	Name                  string           `json:"name"`
	Slug                  string           `json:"slug"`
	Provider              Provider         `json:"provider"`
	Config                map[string]any   `json:"config"`
	HasCredentials        bool             `json:"hasCredentials"`
	Status                ConnectionStatus `json:"status"`
	Visibility            Visibility       `json:"visibility"`
	IsDefault             bool             `json:"isDefault"`
	IsFromTemplate        bool             `json:"isFromTemplate"`
	LastUsedAt            *time.Time       `json:"lastUsedAt"`
	LastVerifiedAt        *time.Time       `json:"lastVerifiedAt"`
	VerificationError     *string          `json:"verificationError"`
	VerificationErrorCode *string          `json:"verificationErrorCode"`
	VerificationDetails   map[string]any   `json:"verificationDetails"`
	CreatedAt             time.Time        `json:"createdAt"`
	UpdatedAt             time.Time        `json:"updatedAt"`
	CreatedBy             string           `json:"createdBy"`
	UpdatedBy             string           `json:"updatedBy"`

	// SecretFieldNames names the secrets stored (never their values); it
	// feeds editSettings and is never serialised.
	SecretFieldNames []string `json:"-"`
	// Stored is the row this was built from, so lazy fields (files, schema)
	// reach the provider without reading the row again; never serialised.
	Stored *store.Connection `json:"-"`
}

// ConnectionList is one page of connections. Users is resolved lazily (one
// batched query) from the page's creators and updaters.
type ConnectionList struct {
	Connections []*Connection `json:"connections"`
	Total       int           `json:"total"`
	HasNext     bool          `json:"hasNext"`
	Limit       int           `json:"limit"`
	Offset      int           `json:"offset"`
	NextCursor  *string       `json:"nextCursor"`
}
