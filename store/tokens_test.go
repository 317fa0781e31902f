package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// TestTokenExpiryAndLastUse: an expired token authenticates nothing (nor
// its sessions, nor a new one); a token's last use is recorded at most once
// per TokenUseResolution; ListTokens shows both and never the token.
func TestTokenExpiryAndLastUse(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		live, soon := "jct_live_"+store.NewID(), "jct_soon_"+store.NewID()
		if _, err := st.EnsureUserToken(ctx, "acme", "alice", "alice@example.com", "admin", live); err != nil {
			t.Fatal(err)
		}
		_, k, err := st.CreateToken(ctx, "acme", "bob", "bob@example.com", "member", soon, time.Now().Add(time.Hour))
		if err != nil || k.ExpiresAt == nil {
			t.Fatalf("create with expiry: %+v %v", k, err)
		}
		if _, err := st.Authenticate(ctx, soon); err != nil {
			t.Fatalf("unexpired token: %v", err)
		}
		if err := st.CreateSession(ctx, soon, "sid-soon", time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		tokens, err := st.ListTokens(ctx, "acme")
		if err != nil || len(tokens) != 2 {
			t.Fatalf("list: %+v %v", tokens, err)
		}
		bob := tokens[1]
		if bob.User != "bob" || bob.ID != k.ID || bob.LastUsedAt == nil || bob.ExpiresAt == nil || tokens[0].LastUsedAt != nil {
			t.Fatalf("list: %+v", tokens)
		}
		firstUse := *bob.LastUsedAt
		// A second use within the minute writes nothing.
		if _, err := st.Authenticate(ctx, soon); err != nil {
			t.Fatal(err)
		}
		tokens, _ = st.ListTokens(ctx, "")
		if !tokens[1].LastUsedAt.Equal(firstUse) {
			t.Fatalf("last use rewritten within a minute: %v then %v", firstUse, tokens[1].LastUsedAt)
		}
		// A use after the resolution is recorded.
		if _, err := st.DB().NewRaw("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", firstUse.Add(-2*time.Minute), k.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, soon); err != nil {
			t.Fatal(err)
		}
		tokens, _ = st.ListTokens(ctx, "")
		if !tokens[1].LastUsedAt.After(firstUse.Add(-time.Minute)) {
			t.Fatalf("last use not recorded after a minute: %v", tokens[1].LastUsedAt)
		}

		// Expired: the token, its session and a new session are refused.
		if _, err := st.DB().NewRaw("UPDATE api_tokens SET expires_at = ? WHERE id = ?", store.Now().Add(-time.Second), k.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, soon); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired token: %v", err)
		}
		if _, err := st.AuthenticateSession(ctx, "sid-soon"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of an expired token: %v", err)
		}
		if err := st.CreateSession(ctx, soon, "sid-late", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("new session for an expired token: %v", err)
		}
		if _, err := st.Authenticate(ctx, live); err != nil {
			t.Fatalf("a token without expiry: %v", err)
		}
		tokens, _ = st.ListTokens(ctx, "")
		if !tokens[1].Expired(time.Now()) || tokens[0].Expired(time.Now()) {
			t.Fatalf("Expired: %+v", tokens)
		}
		if other, err := st.ListTokens(ctx, "nobody"); err != nil || len(other) != 0 {
			t.Fatalf("another tenant's list: %+v %v", other, err)
		}
		if ok, err := st.RevokeTokenID(ctx, k.ID); err != nil || !ok {
			t.Fatalf("revoke by id: %v %v", ok, err)
		}
		if ok, _ := st.RevokeTokenID(ctx, k.ID); ok {
			t.Fatal("revoked twice")
		}
	})
}
