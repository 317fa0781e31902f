package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// rotatingIdP is a RyderShip-shaped OAuth server whose refresh tokens are
// single-use: each refresh returns a new one and retires the old.
type rotatingIdP struct {
	mu      sync.Mutex
	refresh string // the only refresh token accepted
	access  string // the only access token accepted
	n       int
	calls   atomic.Int64
}

func (p *rotatingIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.URL.Path {
	case "/oauth/token":
		p.calls.Add(1)
		r.ParseForm()
		if r.Method != "POST" || r.Form.Get("grant_type") != "refresh_token" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, 400)
			return
		}
		if id, secret, ok := r.BasicAuth(); !(ok && id == "app" && secret == "app-secret") && !(r.Form.Get("client_id") == "app" && r.Form.Get("client_secret") == "app-secret") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		if r.Form.Get("refresh_token") != p.refresh {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		p.n++
		p.refresh, p.access = fmt.Sprintf("rt-%d", p.n+1), fmt.Sprintf("at-%d", p.n)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":7200,"refresh_token":%q,"scope":"user_read"}`, p.access, p.refresh)
	case "/api/v2/items/count":
		if r.Header.Get("Authorization") != "Bearer "+p.access {
			http.Error(w, `{"message":"unauthorized"}`, 401)
			return
		}
		io.WriteString(w, `{"count":42}`)
	default:
		http.NotFound(w, r)
	}
}

// TestOAuthThroughTheAPI: a refreshed token and a rotated refresh token are
// written back to the sealed credentials; later verifies reuse the token; 50
// concurrent verifies make one token call; a second process sharing the
// database uses the stored token instead of calling the endpoint.
func TestOAuthThroughTheAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		idp := &rotatingIdP{refresh: "rt-1"}
		up := httptest.NewServer(idp)
		defer up.Close()
		e := newEnv(t, db)
		c := e.create(e.admin, map[string]any{"name": "3PL", "provider": "rydership",
			"config":      map[string]any{"base_url": up.URL, "token_url": up.URL + "/oauth/token", "client_id": "app"},
			"credentials": map[string]any{"client_secret": "app-secret", "refresh_token": "rt-1"}})

		var v verified
		e.must(e.admin, verifyQ, map[string]any{"id": c.ID}, "verifyConnection", &v)
		if v.Status != "active" || idp.calls.Load() != 1 {
			t.Fatalf("first verify: %+v, %d token calls", v, idp.calls.Load())
		}
		row := mustRow(t, e.st, c.ID)
		secrets, err := e.st.OpenSecrets(row)
		if err != nil {
			t.Fatal(err)
		}
		if secrets["refresh_token"] != "rt-2" || !strings.Contains(secrets["_oauth_token"], "at-1") {
			t.Fatalf("rotated refresh token not written back: refresh %q", secrets["refresh_token"])
		}
		var again conn
		e.must(e.admin, getQ, map[string]any{"id": c.ID}, "connection", &again)
		for _, f := range again.EditSettings.SecretFields {
			if strings.HasPrefix(f.Name, "_") {
				t.Fatalf("editSettings lists the internal token field %q", f.Name)
			}
		}

		var wg sync.WaitGroup
		errs := make(chan string, 50)
		for range 50 {
			wg.Go(func() {
				r := e.gql(e.admin, verifyQ, map[string]any{"id": c.ID})
				if len(r.Errors) > 0 || !strings.Contains(string(r.Data["verifyConnection"]), `"active"`) {
					errs <- fmt.Sprintf("%v %s", r.Errors, r.Data["verifyConnection"])
				}
			})
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Fatal(msg)
		}
		if n := idp.calls.Load(); n != 1 {
			t.Fatalf("51 verifies made %d token calls, want 1 (the token is cached)", n)
		}

		// A second process: its own resolvers and OAuth cache, the same database.
		other, closeOther := newHandler(testConfig(), e.st, newLogger(testConfig(), io.Discard))
		defer closeOther()
		req := httptest.NewRequest("POST", "/api/v1/connections/"+c.ID+"/verify", nil)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		w := httptest.NewRecorder()
		other.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"active"`) || idp.calls.Load() != 1 {
			t.Fatalf("second process: %d %s, %d token calls", w.Code, w.Body, idp.calls.Load())
		}

		// A dry run of the stored connection as it is reuses its token store.
		var tr testResult
		e.must(e.admin, testQ, map[string]any{"in": map[string]any{"connectionId": c.ID}}, "testConnection", &tr)
		if !tr.OK || idp.calls.Load() != 1 {
			t.Fatalf("dry run of the stored connection: %+v, %d token calls", tr, idp.calls.Load())
		}
		// New credentials retire the stored token.
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"credentials": map[string]any{"client_secret": "rotated-secret"}}}, "updateConnection", nil)
		if s, _ := e.st.OpenSecrets(mustRow(t, e.st, c.ID)); s["_oauth_token"] != "" || s["refresh_token"] != "rt-2" {
			t.Fatalf("after an edit of the credentials the old token is kept: %v", s["_oauth_token"] != "")
		}

		// Revoked: the next refresh fails with a sentence saying what to do.
		idp.mu.Lock()
		idp.refresh, idp.access = "revoked", "revoked"
		idp.mu.Unlock()
		fresh := e.create(e.admin, map[string]any{"name": "3PL old", "provider": "rydership",
			"config":      map[string]any{"base_url": up.URL, "token_url": up.URL + "/oauth/token", "client_id": "app"},
			"credentials": map[string]any{"client_secret": "app-secret", "refresh_token": "rt-1"}})
		v = verified{}
		e.must(e.admin, verifyQ, map[string]any{"id": fresh.ID}, "verifyConnection", &v)
		if v.Status != "error" || *v.VerificationErrorCode != "auth_failed" || !strings.Contains(*v.VerificationError, "re-authorise") {
			t.Fatalf("revoked refresh token: %+v %v", v, v.VerificationError)
		}
	})
}

func mustRow(t *testing.T, st *store.Store, id string) *store.Connection {
	t.Helper()
	var c store.Connection
	if err := st.DB().NewSelect().Model(&c).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestOAuthProcessesShareOneRefresh: two servers on one database verifying
// the same connection at once make one token call between them (the refresh
// lease lives in the database), and both record success.
func TestOAuthProcessesShareOneRefresh(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		idp := &rotatingIdP{refresh: "rt-1"}
		up := httptest.NewServer(idp)
		defer up.Close()
		e := newEnv(t, db)
		c := e.create(e.admin, map[string]any{"name": "3PL", "provider": "rydership",
			"config":      map[string]any{"base_url": up.URL, "token_url": up.URL + "/oauth/token", "client_id": "app"},
			"credentials": map[string]any{"client_secret": "app-secret", "refresh_token": "rt-1"}})
		other, closeOther := newHandler(testConfig(), e.st, newLogger(testConfig(), io.Discard))
		defer closeOther()
		var wg sync.WaitGroup
		results := make(chan string, 20)
		for i := range 20 {
			h := e.h
			if i%2 == 1 {
				h = other
			}
			wg.Go(func() {
				req := httptest.NewRequest("POST", "/api/v1/connections/"+c.ID+"/verify", nil)
				req.Header.Set("Authorization", "Bearer "+e.admin)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				results <- fmt.Sprint(w.Code, " ", w.Body.String())
			})
		}
		wg.Wait()
		close(results)
		for r := range results {
			if !strings.HasPrefix(r, "200 ") || !strings.Contains(r, `"status":"active"`) {
				t.Fatalf("verify: %.300s", r)
			}
		}
		if n := idp.calls.Load(); n != 1 {
			t.Fatalf("two processes made %d token calls, want 1", n)
		}
	})
}
