package mlflow

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	token    = "dapi-mlflow-token"
	password = "password1234-secret"
)

// fake is an MLflow tracking server's experiments search. It checks the
// documented request (POST, JSON body {"max_results":1}, the auth the case
// expects) and answers as MLflow does otherwise.
type fake struct {
	srv    *httptest.Server
	auth   string // the Authorization header expected
	answer func(w http.ResponseWriter, r *http.Request, attempt int) bool
	calls  atomic.Int64
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func mlflowError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error_code": %q, "message": %q}`, code, msg)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path != searchPath:
		w.WriteHeader(404)
		fmt.Fprint(w, "<!doctype html><title>404 Not Found</title>")
		return
	case r.Method != http.MethodPost:
		w.WriteHeader(405)
		return
	case r.Header.Get("Authorization") != f.auth:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
		w.WriteHeader(401)
		fmt.Fprint(w, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.")
		return
	case r.Header.Get("Content-Type") != "application/json" || string(body) != `{"max_results":1}`:
		mlflowError(w, 400, "INVALID_PARAMETER_VALUE", "bad body "+string(body))
		return
	}
	if f.answer != nil && f.answer(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"experiments": [{"experiment_id": "0", "name": "Default", "artifact_location": "mlflow-artifacts:/0", "lifecycle_stage": "active"}], "next_page_token": "eyJvZmZzZXQiOiAxfQ=="}`)
}

func TestVerify(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+password))
	reply := func(status int, code, msg string, hdr ...string) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, _ int) bool {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			mlflowError(w, status, code, msg)
			return true
		}
	}
	bearerSettings := map[string]any{"auth_type": "bearer"}
	bearerSecrets := map[string]string{"token": token}
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		auth     string
		path     string // appended to the tracking URI
		answer   func(http.ResponseWriter, *http.Request, int) bool
		deadline time.Duration
		code     providers.Code
		msg      string
		details  map[string]any
		calls    int
	}{
		{name: "no auth", details: map[string]any{"experiments_visible": 1, "first_experiment": "Default", "more_experiments": true}},
		{name: "no experiments", answer: func(w http.ResponseWriter, r *http.Request, _ int) bool {
			fmt.Fprint(w, `{}`)
			return true
		}, details: map[string]any{"experiments_visible": 0, "more_experiments": false}},
		{name: "bearer", settings: bearerSettings, secrets: bearerSecrets, auth: "Bearer " + token, details: map[string]any{"experiments_visible": 1}},
		{name: "basic", settings: map[string]any{"auth_type": "basic", "username": "admin"}, secrets: map[string]string{"password": password}, auth: basic,
			details: map[string]any{"experiments_visible": 1}},
		{name: "tracking uri with trailing slash", path: "/", details: map[string]any{"experiments_visible": 1}},
		{name: "basic-auth app 401", settings: map[string]any{"auth_type": "basic", "username": "admin"}, secrets: map[string]string{"password": "wrong-password"},
			auth: basic, code: providers.CodeAuthFailed, msg: "You are not authenticated"},
		{name: "UNAUTHENTICATED", settings: bearerSettings, secrets: bearerSecrets, auth: "Bearer " + token,
			answer: reply(401, "UNAUTHENTICATED", "Invalid access token"), code: providers.CodeAuthFailed, msg: "Invalid access token"},
		{name: "PERMISSION_DENIED", answer: reply(403, "PERMISSION_DENIED", "Permission denied"), code: providers.CodePermissionDenied},
		{name: "not an MLflow server", path: "/some/app", code: providers.CodeNotFound, msg: "is this an MLflow tracking server?"},
		{name: "RESOURCE_DOES_NOT_EXIST", answer: reply(404, "RESOURCE_DOES_NOT_EXIST", "No such endpoint"), code: providers.CodeNotFound, msg: "MLflow tracking server"},
		{name: "HTML 200", answer: func(w http.ResponseWriter, r *http.Request, _ int) bool {
			fmt.Fprint(w, "<html>app</html>")
			return true
		}, code: providers.CodeProviderError, msg: "is this an MLflow tracking server?"},
		{name: "429 Retry-After beyond deadline", deadline: time.Second,
			answer: reply(429, "REQUEST_LIMIT_EXCEEDED", "rate limit", "Retry-After", "30"), code: providers.CodeRateLimited},
		{name: "429 then 200", calls: 2, details: map[string]any{"experiments_visible": 1},
			answer: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "0")
				mlflowError(w, 429, "REQUEST_LIMIT_EXCEEDED", "rate limit")
				return true
			}},
		{name: "leak", settings: bearerSettings, secrets: bearerSecrets, auth: "Bearer " + token,
			answer: reply(400, "INVALID_PARAMETER_VALUE", "token "+token+" is malformed"), code: providers.CodeProviderError, msg: "[REDACTED]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.answer, f.auth = tc.answer, tc.auth
			settings := map[string]any{"tracking_uri": f.srv.URL + tc.path}
			for k, v := range tc.settings {
				settings[k] = v
			}
			c := providertest.Open(t, Driver{}, settings, tc.secrets)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			res, pe := providertest.Verify(ctx, c)
			if tc.code != "" {
				if pe == nil {
					t.Fatalf("want %s, got success %v", tc.code, res.Details)
				}
				if pe.Code != tc.code || !strings.Contains(pe.Message, tc.msg) {
					t.Fatalf("want %s containing %q, got %s: %s", tc.code, tc.msg, pe.Code, pe.Message)
				}
				if tc.deadline > 0 {
					providertest.WantRateLimited(t, pe, 30*time.Second)
				}
				for _, s := range tc.secrets {
					if strings.Contains(pe.Message, s) {
						t.Errorf("message leaks a secret: %s", pe.Message)
					}
				}
				return
			}
			if pe != nil {
				t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
			}
			for k, v := range tc.details {
				if res.Details[k] != v {
					t.Errorf("details[%s] = %v, want %v (all: %v)", k, res.Details[k], v, res.Details)
				}
			}
			if tc.calls != 0 && int(f.calls.Load()) != tc.calls {
				t.Errorf("calls = %d, want %d", f.calls.Load(), tc.calls)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for name, uri := range map[string]string{
		"databricks shorthand": "databricks",
		"no scheme":            "mlflow.example.com",
		"file store":           "file:///tmp/mlruns",
		"user info":            "https://admin:pw@mlflow.example.com",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, map[string]any{"tracking_uri": uri}, nil))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("want invalid_config, got %v", err)
			}
		})
	}
}
