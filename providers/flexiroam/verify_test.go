package flexiroam

import (
	"context"
	"errors"
	"fmt"
	"mime"
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
	testEmail    = "reseller@example.com"
	testPassword = "s3cret-Passw0rd!"
	testJWT      = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiODQifQ.c2lnbmF0dXJl"
)

// checkLogin returns why r is not the documented login request, or "".
func checkLogin(r *http.Request) string {
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return "content type " + mt
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return "form: " + err.Error()
	}
	if r.FormValue("email") != testEmail || r.FormValue("password") != testPassword {
		return "email or password field"
	}
	if r.Header.Get("token") != "" {
		return "token header on login"
	}
	return ""
}

// checkView returns why r is not the documented profile request, or "".
func checkView(r *http.Request) string {
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	if r.Header.Get("token") != testJWT {
		return "token header"
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return "content type " + mt
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return "form: " + err.Error()
	}
	if r.FormValue("password") != "" {
		return "password sent to the profile call"
	}
	return ""
}

func loginOK(w http.ResponseWriter, _ int) {
	fmt.Fprintf(w, `{"success":true,"data":{"token":%q},"msg":"Login successful"}`, testJWT)
}

func viewOK(w http.ResponseWriter, _ int) {
	fmt.Fprint(w, `{"success":true,"data":{"user_id":"84","first_name":"Demo","last_name":"Reseller","business_name":"Demo Load Plan","email":"reseller@example.com","currency":"USD","timezone":"GMT","country":"Malaysia","key":"cq9z4sx1tbp5feanjm8y"},"msg":""}`)
}

func TestVerify(t *testing.T) {
	type responder func(w http.ResponseWriter, call int)
	tests := []struct {
		name       string
		login      responder
		view       responder
		deadline   time.Duration
		loginCalls int32
		viewCalls  int32
		wantCode   providers.Code
		check      func(t *testing.T, res *providers.VerifyResult, err *providers.Error)
	}{
		{
			name: "success", login: loginOK, view: viewOK, loginCalls: 1, viewCalls: 1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				want := map[string]any{"business_name": "Demo Load Plan", "email": testEmail, "first_name": "Demo", "user_id": "84"}
				for k, v := range want {
					if res.Details[k] != v {
						t.Errorf("details[%s] = %v, want %v", k, res.Details[k], v)
					}
				}
				if _, ok := res.Details["key"]; ok {
					t.Errorf("details carry the account key: %v", res.Details)
				}
				if strings.Contains(fmt.Sprint(res.Details), testJWT) {
					t.Errorf("details carry the token: %v", res.Details)
				}
			},
		},
		{
			name: "login HTTP 401",
			login: func(w http.ResponseWriter, _ int) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"success":false,"data":null,"msg":"Unauthorized"}`)
			},
			loginCalls: 1, wantCode: providers.CodeAuthFailed,
		},
		{
			name: "login 200 success=false",
			login: func(w http.ResponseWriter, _ int) {
				fmt.Fprint(w, `{"success":false,"data":[],"msg":"Invalid email or password"}`)
			},
			loginCalls: 1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Invalid email or password") {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
		{
			name: "login 200 status=false",
			login: func(w http.ResponseWriter, _ int) {
				fmt.Fprint(w, `{"status":false,"data":null,"msg":"Account suspended"}`)
			},
			loginCalls: 1, wantCode: providers.CodeAuthFailed,
		},
		{
			name:  "profile 401",
			login: loginOK,
			view: func(w http.ResponseWriter, _ int) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"success":false,"msg":"Token expired"}`)
			},
			loginCalls: 1, viewCalls: 1, wantCode: providers.CodeAuthFailed,
		},
		{
			name:  "profile 403",
			login: loginOK,
			view: func(w http.ResponseWriter, _ int) {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"success":false,"msg":"Forbidden"}`)
			},
			loginCalls: 1, viewCalls: 1, wantCode: providers.CodePermissionDenied,
		},
		{
			name: "429 with a long Retry-After returns at once",
			login: func(w http.ResponseWriter, _ int) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			deadline: time.Second, loginCalls: 1, wantCode: providers.CodeRateLimited,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				providertest.WantRateLimited(t, err, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried with the form resent",
			login: func(w http.ResponseWriter, call int) {
				if call == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				loginOK(w, call)
			},
			view: viewOK, loginCalls: 2, viewCalls: 1,
		},
		{
			name: "password and token echoed in error bodies are redacted",
			login: func(w http.ResponseWriter, _ int) {
				fmt.Fprintf(w, `{"success":false,"msg":"wrong password %s for %s"}`, testPassword, testEmail)
			},
			loginCalls: 1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if strings.Contains(err.Error(), testPassword) || !strings.Contains(err.Error(), "wrong password "+providers.Redacted) {
					t.Errorf("message = %q", err.Error())
				}
			},
		},
		{
			name:  "session token echoed by the profile call is redacted",
			login: loginOK,
			view: func(w http.ResponseWriter, _ int) {
				fmt.Fprintf(w, `{"success":false,"msg":"bad token %s"}`, testJWT)
			},
			loginCalls: 1, viewCalls: 1, wantCode: providers.CodeProviderError,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if strings.Contains(err.Error(), testJWT) || !strings.Contains(err.Error(), "bad token "+providers.Redacted) {
					t.Errorf("message = %q", err.Error())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loginCalls, viewCalls atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/user/login/v1", func(w http.ResponseWriter, r *http.Request) {
				n := loginCalls.Add(1)
				if why := checkLogin(r); why != "" {
					http.Error(w, "unexpected request: "+why, http.StatusBadRequest)
					return
				}
				tt.login(w, int(n))
			})
			mux.HandleFunc("/user/view/v1", func(w http.ResponseWriter, r *http.Request) {
				n := viewCalls.Add(1)
				if why := checkView(r); why != "" {
					http.Error(w, "unexpected request: "+why, http.StatusBadRequest)
					return
				}
				tt.view(w, int(n))
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c := providertest.Open(t, Driver{}, map[string]any{"base_url": srv.URL, "email": testEmail},
				map[string]string{"password": testPassword})
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
			var pe *providers.Error
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else {
				if !errors.As(err, &pe) || pe.Code != tt.wantCode {
					t.Fatalf("Verify error = %#v, want code %s", err, tt.wantCode)
				}
				if strings.Contains(pe.Message, testPassword) || strings.Contains(pe.Message, testJWT) {
					t.Errorf("message leaks a secret: %q", pe.Message)
				}
			}
			if l, v := loginCalls.Load(), viewCalls.Load(); l != tt.loginCalls || v != tt.viewCalls {
				t.Errorf("server saw %d login and %d profile calls, want %d and %d", l, v, tt.loginCalls, tt.viewCalls)
			}
			if tt.check != nil {
				tt.check(t, res, pe)
			}
		})
	}
}

func TestOpenBaseURL(t *testing.T) {
	for env, want := range map[string]string{"prod": "https://api.flexiroam.com", "dev": "https://devapi.flexiroam.com"} {
		c := providertest.Open(t, Driver{}, map[string]any{"environment": env, "email": testEmail},
			map[string]string{"password": testPassword})
		if got := c.(*conn).base; got != want {
			t.Errorf("environment %s: base = %q, want %q", env, got, want)
		}
	}
	c := providertest.Open(t, Driver{}, map[string]any{"environment": "dev", "base_url": "http://127.0.0.1:9/flexi/", "email": testEmail},
		map[string]string{"password": testPassword})
	if got := c.(*conn).base; got != "http://127.0.0.1:9/flexi" {
		t.Errorf("base_url override: base = %q", got)
	}
	cfg := providertest.Config(t, Driver{}, map[string]any{"base_url": "ftp://x", "email": testEmail}, map[string]string{"password": testPassword})
	var pe *providers.Error
	if _, err := (Driver{}).Open(context.Background(), cfg); !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
		t.Errorf("Open(ftp base) = %v, want invalid_config", err)
	}
}
