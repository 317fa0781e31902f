package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// TestStartReRedacts (issue 9, item 1): a verification error stored before
// redaction covered every encoding is redacted at start-up with the
// connection's own secrets.
func TestStartReRedacts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		key := testdb.NewKey(t)
		env := map[string]string{"JUNCTION_DATA_DIR": db.DataDir, "JUNCTION_DATABASE_URL": db.URL, "JUNCTION_ENCRYPTION_KEY": key}
		log := newLogger(testConfig(), io.Discard)
		st, err := prepare(ctx, mustConfig(t, env), log, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.EnsureUserToken(ctx, "default", "ann", "ann@example.com", "admin", "tok-ann-1")
		if err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		c := &store.Connection{ID: store.NewID(), TenantID: u.TenantID, Name: "Echo", Slug: "echo", Provider: "redo",
			Config: store.JSONMap{"store_id": "s"}, Status: "active", Visibility: "global", VerificationDetails: store.JSONMap{},
			CreatedAt: now, UpdatedAt: now, CreatedBy: u.ID, UpdatedBy: u.ID}
		if err := st.InsertConnection(ctx, c, map[string]string{"api_secret": "CANARY/SLSH/5678"}, false); err != nil {
			t.Fatal(err)
		}
		msg := `redo: HTTP 401: {"error":"invalid key CANARY\/SLSH\/5678"}`
		if err := st.RecordVerification(ctx, u.TenantID, c.ID, store.Verification{At: now, Status: "error", Error: &msg,
			Details: store.JSONMap{"echo": "canary/slsh/5678"}}); err != nil {
			t.Fatal(err)
		}
		// As if the database came from before: the step has not run.
		if _, err := st.DB().NewDelete().Table("schema_migrations").Where("version = '0003_reredact'").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		st.Close()

		st, err = prepare(ctx, mustConfig(t, env), log, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		got, err := st.GetConnection(ctx, u.TenantID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *got.VerificationError != `redo: HTTP 401: {"error":"invalid key [REDACTED]"}` || got.VerificationDetails["echo"] != "[REDACTED]" {
			t.Fatalf("after start-up: error %q details %v", *got.VerificationError, got.VerificationDetails)
		}
		if strings.Contains(strings.ToUpper(*got.VerificationError), "CANARY") {
			t.Fatal("the secret survives")
		}
	})
}
