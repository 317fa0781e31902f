package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
)

type verified struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"`
	LastVerifiedAt        *string        `json:"lastVerifiedAt"`
	VerificationError     *string        `json:"verificationError"`
	VerificationErrorCode *string        `json:"verificationErrorCode"`
	VerificationDetails   map[string]any `json:"verificationDetails"`
	Config                map[string]any `json:"config"`
}

const (
	verifyQ = `mutation($id: ID!) { verifyConnection(id: $id) { id status lastVerifiedAt verificationError verificationErrorCode verificationDetails config } }`
	testQ   = `mutation($in: TestConnectionInput!) { testConnection(input: $in) { ok errorCode error details } }`
)

type testResult struct {
	OK        bool           `json:"ok"`
	ErrorCode *string        `json:"errorCode"`
	Error     *string        `json:"error"`
	Details   map[string]any `json:"details"`
}

// pgTarget returns the connection settings of the PostgreSQL the tests use
// as an external system, or skips.
func pgTarget(t *testing.T) (cfg map[string]any, password string) {
	raw := os.Getenv("JUNCTION_TEST_DATABASE_URL")
	if raw == "" {
		if os.Getenv("JUNCTION_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("JUNCTION_TEST_REQUIRE_POSTGRES=1 but JUNCTION_TEST_DATABASE_URL is not set")
		}
		t.Skip("needs a PostgreSQL to verify against: set JUNCTION_TEST_DATABASE_URL (.ci/run does)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port := 5432
	if p := u.Port(); p != "" {
		fmt.Sscan(p, &port)
	}
	pw, _ := u.User.Password()
	return map[string]any{"host": u.Hostname(), "port": port, "database": strings.TrimPrefix(u.Path, "/"),
		"user": u.User.Username(), "sslmode": "disable"}, pw
}

func TestVerifyPostgres(t *testing.T) {
	cfg, pw := pgTarget(t)
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		good := e.create(e.admin, map[string]any{"name": "Local PG", "provider": "postgres", "config": cfg, "credentials": map[string]any{"password": pw}})
		var v verified
		e.must(e.admin, verifyQ, map[string]any{"id": good.ID}, "verifyConnection", &v)
		if v.Status != "active" || v.LastVerifiedAt == nil || v.VerificationErrorCode != nil || !strings.Contains(fmt.Sprint(v.VerificationDetails["server_version"]), ".") {
			t.Fatalf("good settings: %+v", v)
		}

		bad := e.create(e.admin, map[string]any{"name": "Wrong PW", "provider": "postgres", "config": cfg, "credentials": map[string]any{"password": canary}})
		v = verified{}
		e.must(e.admin, verifyQ, map[string]any{"id": bad.ID}, "verifyConnection", &v)
		if v.Status != "error" || v.VerificationErrorCode == nil || *v.VerificationErrorCode != "auth_failed" ||
			!strings.Contains(*v.VerificationError, "password authentication failed") || len(v.VerificationDetails) != 0 {
			t.Fatalf("wrong password: %+v", v)
		}

		// Dry run of an edit: the stored password is merged in, nothing is saved.
		var tr testResult
		e.must(e.admin, testQ, map[string]any{"in": map[string]any{"connectionId": bad.ID, "credentials": map[string]any{"password": pw}}}, "testConnection", &tr)
		if !tr.OK || tr.ErrorCode != nil {
			t.Fatalf("dry run with the right password: %+v", tr)
		}
		var after verified
		e.must(e.admin, `query($id: ID!) { connection(id: $id) { status verificationErrorCode } }`, map[string]any{"id": bad.ID}, "connection", &after)
		if after.Status != "error" {
			t.Fatalf("dry run saved something: %+v", after)
		}
		tr = testResult{}
		e.must(e.admin, testQ, map[string]any{"in": map[string]any{"connectionId": good.ID,
			"config": mergeMap(cfg, map[string]any{"database": "no_such_db_here"})}}, "testConnection", &tr)
		if tr.OK || *tr.ErrorCode != "not_found" {
			t.Fatalf("dry run of an edit to an unknown database: %+v", tr)
		}
		tr = testResult{}
		e.must(e.admin, testQ, map[string]any{"in": map[string]any{"provider": "postgres", "config": cfg, "credentials": map[string]any{"password": pw}}}, "testConnection", &tr)
		if !tr.OK {
			t.Fatalf("dry run of new settings: %+v", tr)
		}
		// A dry run cannot send stored secrets to a new host.
		code, fields := e.errCode(e.admin, testQ, map[string]any{"in": map[string]any{"connectionId": good.ID, "config": mergeMap(cfg, map[string]any{"host": "203.0.113.9"})}})
		if code != "validation_failed" || len(fields) != 1 {
			t.Fatalf("dry run moving the host: %s %v", code, fields)
		}

		e.must(e.admin, `mutation($id: ID!) { disableConnection(id: $id) { id } }`, map[string]any{"id": good.ID}, "disableConnection", nil)
		if code, _ := e.errCode(e.admin, verifyQ, map[string]any{"id": good.ID}); code != "connection_disabled" {
			t.Fatalf("verify of a disabled connection: %s", code)
		}
		if w := e.do("POST", "/api/v1/connections/"+good.ID+"/verify", e.admin, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "connection_disabled") {
			t.Fatalf("REST verify of a disabled connection: %d %s", w.Code, w.Body)
		}
		if strings.Contains(e.bodies.String(), canary) || strings.Contains(e.log.String(), canary) {
			t.Fatal("the wrong password leaked into a response or the log")
		}
	})
}

// TestVerifyRedactsEchoedSecrets: an upstream that echoes the submitted
// password in its error body must not get it into the stored connection,
// the response or the log.
func TestVerifyRedactsEchoedSecrets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, pw, _ := r.BasicAuth()
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error": "invalid password %s for user"}`, pw)
		}))
		defer up.Close()
		e := newEnv(t, db)
		c := e.create(e.admin, map[string]any{"name": "Echo", "provider": "http_api",
			"config":      map[string]any{"base_url": up.URL, "auth_type": "basic", "verify_path": "/me"},
			"credentials": map[string]any{"username": "bob", "password": canary}})
		var v verified
		e.must(e.admin, verifyQ, map[string]any{"id": c.ID}, "verifyConnection", &v)
		if v.Status != "error" || *v.VerificationErrorCode != "auth_failed" {
			t.Fatalf("verify: %+v", v)
		}
		var tr testResult
		e.must(e.admin, testQ, map[string]any{"in": map[string]any{"connectionId": c.ID}}, "testConnection", &tr)
		var stored []string
		if err := e.st.DB().NewRaw("SELECT coalesce(verification_error, '') || ' ' || verification_details FROM connections").Scan(t.Context(), &stored); err != nil {
			t.Fatal(err)
		}
		for _, where := range []string{strings.Join(stored, " "), e.bodies.String(), e.log.String()} {
			if strings.Contains(where, canary) {
				t.Fatalf("echoed secret leaked: %.300s", where)
			}
		}
	})
}

func mergeMap(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestVerifyGoesThroughNetguard: the server's provider calls dial through
// netguard: metadata addresses are always refused, loopback when private
// networks are blocked.
func TestVerifyGoesThroughNetguard(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
		defer up.Close()
		for _, tc := range []struct {
			name    string
			block   bool
			input   map[string]any
			wantErr string
		}{
			{"metadata address, blocking off", false, map[string]any{"name": "meta", "provider": "http_api",
				"config": map[string]any{"base_url": "http://169.254.169.254", "verify_path": "/latest/meta-data/"}}, "blocked_address"},
			{"loopback HTTP, blocking on", true, map[string]any{"name": "lo", "provider": "http_api",
				"config": map[string]any{"base_url": up.URL}}, "blocked_address"},
			{"loopback database, blocking on", true, map[string]any{"name": "pg", "provider": "postgres",
				"config": map[string]any{"host": "127.0.0.1", "database": "x", "user": "u"}, "credentials": map[string]any{"password": "p"}}, "blocked_address"},
			{"loopback HTTP, blocking off", false, map[string]any{"name": "lo2", "provider": "http_api",
				"config": map[string]any{"base_url": up.URL}}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, db, func(c *Config) { c.BlockPrivateNetworks = tc.block })
				c := e.create(e.admin, tc.input)
				var v verified
				e.must(e.admin, verifyQ, map[string]any{"id": c.ID}, "verifyConnection", &v)
				got := ""
				if v.VerificationErrorCode != nil {
					got = *v.VerificationErrorCode
				}
				if got != tc.wantErr {
					t.Fatalf("verificationErrorCode = %q (%v), want %q", got, v.VerificationError, tc.wantErr)
				}
				outcome := cmp.Or(tc.wantErr, "ok")
				m := e.do("GET", "/metrics", "", nil).Body.String()
				for _, want := range []string{
					`junction_provider_checks_total{outcome="` + outcome + `",provider="` + tc.input["provider"].(string) + `"} 1`,
					`junction_http_requests_total{method="POST",route="/graphql",status="200"} 2`,
				} {
					if !strings.Contains(m, want) {
						t.Fatalf("/metrics lacks %s", want)
					}
				}
				if strings.Contains(m, c.ID) {
					t.Fatal("a connection id is a metric label")
				}
			})
		}
	})
}
