package providers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// step is one scripted upstream answer.
type step struct {
	status     int
	retryAfter string
}

// scripted serves steps in order (the last one repeats) and records the
// bodies it received.
type scripted struct {
	mu     sync.Mutex
	steps  []step
	hits   int
	bodies []string
	times  []time.Time
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	st := s.steps[min(s.hits, len(s.steps)-1)]
	s.hits++
	s.bodies = append(s.bodies, string(b))
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	if st.retryAfter != "" {
		w.Header().Set("Retry-After", st.retryAfter)
	}
	w.WriteHeader(st.status)
	io.WriteString(w, "answer "+strconv.Itoa(st.status))
}

func TestRetries(t *testing.T) {
	future := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name       string
		steps      []step
		post       bool
		noGetBody  bool
		timeout    time.Duration // context deadline; 0 for none
		opts       HTTPOptions
		wantHits   int
		wantStatus int
	}{
		{name: "200 once", steps: []step{{200, ""}}, wantHits: 1, wantStatus: 200},
		{name: "429 then 200 with Retry-After 0", steps: []step{{429, "0"}, {200, ""}}, wantHits: 2, wantStatus: 200},
		{name: "503 503 200 backoff", steps: []step{{503, ""}, {503, ""}, {200, ""}}, wantHits: 3, wantStatus: 200},
		{name: "500 502 504 200", steps: []step{{500, ""}, {502, ""}, {504, ""}, {200, ""}}, wantHits: 4, wantStatus: 200},
		{name: "500 forever stops after MaxRetries", steps: []step{{500, ""}}, wantHits: 4, wantStatus: 500},
		{name: "MaxRetries 1", steps: []step{{503, ""}}, opts: HTTPOptions{MaxRetries: 1}, wantHits: 2, wantStatus: 503},
		{name: "retries disabled", steps: []step{{503, ""}, {200, ""}}, opts: HTTPOptions{MaxRetries: -1}, wantHits: 1, wantStatus: 503},
		{name: "501 not retried", steps: []step{{501, ""}, {200, ""}}, wantHits: 1, wantStatus: 501},
		{name: "505 not retried", steps: []step{{505, ""}, {200, ""}}, wantHits: 1, wantStatus: 505},
		{name: "400 not retried", steps: []step{{400, "0"}, {200, ""}}, wantHits: 1, wantStatus: 400},
		{name: "401 not retried", steps: []step{{401, "0"}, {200, ""}}, wantHits: 1, wantStatus: 401},
		{name: "403 not retried", steps: []step{{403, ""}, {200, ""}}, wantHits: 1, wantStatus: 403},
		{name: "404 not retried", steps: []step{{404, ""}, {200, ""}}, wantHits: 1, wantStatus: 404},
		{name: "409 not retried", steps: []step{{409, ""}, {200, ""}}, wantHits: 1, wantStatus: 409},
		{name: "422 not retried", steps: []step{{422, ""}, {200, ""}}, wantHits: 1, wantStatus: 422},
		{name: "Retry-After 30s past a 1s deadline returns the 429", steps: []step{{429, "30"}, {200, ""}}, timeout: time.Second, wantHits: 1, wantStatus: 429},
		{name: "Retry-After date past a 1s deadline returns the 429", steps: []step{{429, future(30 * time.Second)}, {200, ""}}, timeout: time.Second, wantHits: 1, wantStatus: 429},
		{name: "Retry-After over half the deadline returns the 503", steps: []step{{503, "2"}, {200, ""}}, timeout: 3 * time.Second, wantHits: 1, wantStatus: 503},
		{name: "Retry-After beyond MaxWait without deadline returns the 429", steps: []step{{429, "3600"}, {200, ""}}, wantHits: 1, wantStatus: 429},
		{name: "Retry-After date in the past retries now", steps: []step{{429, "Mon, 02 Jan 2006 15:04:05 GMT"}, {200, ""}}, wantHits: 2, wantStatus: 200},
		{name: "unparseable Retry-After backs off", steps: []step{{429, "soon"}, {200, ""}}, wantHits: 2, wantStatus: 200},
		{name: "POST body re-sent", steps: []step{{503, "0"}, {429, "0"}, {200, ""}}, post: true, wantHits: 3, wantStatus: 200},
		{name: "POST body without GetBody not retried", steps: []step{{503, "0"}, {200, ""}}, post: true, noGetBody: true, wantHits: 1, wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &scripted{steps: tt.steps}
			srv := httptest.NewServer(up)
			defer srv.Close()
			if tt.opts.BaseBackoff == 0 {
				tt.opts.BaseBackoff = time.Millisecond
			}
			client := testClient(tt.opts)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			const payload = `{"query":"ping"}`
			var req *http.Request
			switch {
			case !tt.post:
				req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			case tt.noGetBody:
				req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, io.NopCloser(strings.NewReader(payload)))
			default:
				req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(payload))
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || string(body) != "answer "+strconv.Itoa(tt.wantStatus) {
				t.Errorf("got %d %q, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if up.hits != tt.wantHits {
				t.Errorf("upstream hit %d times, want %d", up.hits, tt.wantHits)
			}
			if tt.timeout > 0 && ctx.Err() != nil {
				t.Errorf("the client waited until the deadline (%v) instead of returning the answer", ctx.Err())
			}
			if tt.post {
				for i, b := range up.bodies {
					if b != payload {
						t.Errorf("attempt %d sent body %q, want %q", i+1, b, payload)
					}
				}
			}
		})
	}
}

// TestRetryAfterHonoured checks the wait is at least what the server asked
// for (a lower bound only: never flaky).
func TestRetryAfterHonoured(t *testing.T) {
	up := &scripted{steps: []step{{429, "1"}, {200, ""}}}
	srv := httptest.NewServer(up)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := testClient(HTTPOptions{BaseBackoff: time.Millisecond}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || up.hits != 2 {
		t.Fatalf("status %d after %d hits, want 200 after 2", resp.StatusCode, up.hits)
	}
	if gap := up.times[1].Sub(up.times[0]); gap < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1s", gap)
	}
}

func TestRetryCancelledWhileWaiting(t *testing.T) {
	hit := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(503)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-hit; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := testClient(HTTPOptions{}).Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestBodyCap(t *testing.T) {
	tests := []struct {
		size    int
		status  int
		wantErr bool
	}{
		{0, 200, false},
		{9, 200, false},
		{10, 200, false},
		{11, 200, true},
		{1 << 20, 200, true},
		{11, 503, true}, // the final answer after retries is capped too
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.size)+"/"+strconv.Itoa(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(tt.status)
				w.Write(bytes.Repeat([]byte("x"), tt.size))
			}))
			defer srv.Close()
			resp, err := testClient(HTTPOptions{MaxBodyBytes: 10, BaseBackoff: time.Millisecond}).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if tt.wantErr {
				if !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("read %d bytes, err %v, want ErrBodyTooLarge", len(b), err)
				}
				if len(b) > 10 {
					t.Errorf("read %d bytes past the cap", len(b))
				}
				if pe := Classify("x", err); pe.Code != CodeProviderError || !strings.Contains(pe.Message, "larger") {
					t.Errorf("Classify: %s %q", pe.Code, pe.Message)
				}
				return
			}
			if err != nil || len(b) != tt.size {
				t.Fatalf("read %d bytes, err %v, want %d", len(b), err, tt.size)
			}
		})
	}
}

func TestRedirectCap(t *testing.T) {
	tests := []struct {
		max      int
		wantHits int32
	}{
		{0, 6}, // default 5 redirects followed
		{2, 3},
		{-1, 1},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.max), func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := hits.Add(1)
				http.Redirect(w, r, "/r"+strconv.Itoa(int(n)), http.StatusFound)
			}))
			defer srv.Close()
			_, err := testClient(HTTPOptions{MaxRedirects: tt.max}).Get(srv.URL)
			if !errors.Is(err, ErrTooManyRedirects) {
				t.Fatalf("err %v, want ErrTooManyRedirects", err)
			}
			if hits.Load() != tt.wantHits {
				t.Errorf("%d hits, want %d", hits.Load(), tt.wantHits)
			}
			if pe := Classify("x", err); !strings.Contains(pe.Message, "redirected too many times") {
				t.Errorf("Classify message %q", pe.Message)
			}
		})
	}
	// A chain within the cap is followed to the end.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := hits.Add(1); n <= 2 {
			http.Redirect(w, r, "/next", http.StatusFound)
		}
	}))
	defer srv.Close()
	resp, err := testClient(HTTPOptions{MaxRedirects: 2}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 3 || resp.StatusCode != 200 {
		t.Fatalf("%d hits, status %d", hits.Load(), resp.StatusCode)
	}
}

// credentialHeaders are what drivers send; none may reach another origin.
var credentialHeaders = map[string]string{
	"Authorization":          "Bearer s3cr3t-bearer",
	"Proxy-Authorization":    "Basic cHJveHk6cGFzcw==",
	"Cookie":                 "session=s3cr3t-cookie",
	"X-Shopify-Access-Token": "shpat_s3cr3t",
	"X-Api-Key":              "s3cr3t-key",
	"Api-Key":                "s3cr3t-key2",
	"X-Amz-Access-Token":     "Atza|s3cr3t",
	"X-Amz-Security-Token":   "s3cr3t-session",
	"Bhresttoken":            "s3cr3t-bh",
	"Token":                  "s3cr3t-jwt",
	"X-Auth-Email":           "bob@example.com",
	"X-Client-Secret":        "s3cr3t-client",
	"X-Password":             "s3cr3t-pass",
	"X-Session-Id":           "s3cr3t-sess",
	"X-Signature":            "s3cr3t-sig",
}

func TestRedirectStripsCredentials(t *testing.T) {
	type seen struct {
		header http.Header
		body   string
	}
	var (
		mu       sync.Mutex
		got      []seen
		location string
		code     int
	)
	// One server: /start redirects, /next records what arrived. Reached
	// through "localhost" instead of 127.0.0.1 it is another origin.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, location, code)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Header.Clone(), string(b)})
		mu.Unlock()
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	otherHost := "http://localhost:" + port + "/next"
	tests := []struct {
		name      string
		location  string
		code      int
		post      bool
		wantStrip bool
		wantErr   error
	}{
		{"same origin keeps credentials", "/next", http.StatusFound, false, false, nil},
		{"other host strips credentials", otherHost, http.StatusFound, false, true, nil},
		{"other host 301", otherHost, http.StatusMovedPermanently, false, true, nil},
		{"POST 303 to other host becomes GET without credentials", otherHost, http.StatusSeeOther, true, true, nil},
		{"POST 307 to other host is refused", otherHost, http.StatusTemporaryRedirect, true, false, ErrRedirectWithBody},
		{"POST 308 to other host is refused", otherHost, http.StatusPermanentRedirect, true, false, ErrRedirectWithBody},
		{"POST 307 same origin keeps body", "/next", http.StatusTemporaryRedirect, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got, location, code = nil, tt.location, tt.code
			mu.Unlock()
			const form = "client_secret=s3cr3t-form"
			method, body := http.MethodGet, io.Reader(nil)
			if tt.post {
				method, body = http.MethodPost, strings.NewReader(form)
			}
			req, _ := http.NewRequest(method, srv.URL+"/start?bhresttoken=s3cr3t-query", body)
			for k, v := range credentialHeaders {
				req.Header.Set(k, v)
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Request-Id", "r-1")
			resp, err := testClient(HTTPOptions{}).Do(req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(got) != 0 {
					t.Fatalf("the other origin was reached: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("target reached %d times", len(got))
			}
			h := got[0].header
			if h.Get("Accept") != "application/json" || h.Get("X-Request-Id") != "r-1" {
				t.Errorf("ordinary headers lost: %v", h)
			}
			if ref := h.Get("Referer"); ref != "" {
				t.Errorf("Referer %q sent (it may carry a token from the query)", ref)
			}
			for k, v := range credentialHeaders {
				if tt.wantStrip && h.Get(k) != "" {
					t.Errorf("%s carried to another origin", k)
				}
				if !tt.wantStrip && h.Get(k) != v {
					t.Errorf("%s = %q on the same origin, want %q", k, h.Get(k), v)
				}
			}
			if tt.wantStrip && strings.Contains(got[0].body, "s3cr3t") {
				t.Errorf("body %q carried to another origin", got[0].body)
			}
			if tt.post && !tt.wantStrip && got[0].body != form {
				t.Errorf("same-origin 307 body %q, want %q", got[0].body, form)
			}
		})
	}
}

// TestRedirectSchemeDowngrade: https -> http on the same host is another
// origin: credentials are not sent in clear text.
func TestRedirectSchemeDowngrade(t *testing.T) {
	client := testClient(HTTPOptions{})
	first, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
	next, _ := http.NewRequest(http.MethodGet, "http://api.example.com/v1", nil)
	for k, v := range credentialHeaders {
		next.Header.Set(k, v)
	}
	if err := client.CheckRedirect(next, []*http.Request{first}); err != nil {
		t.Fatal(err)
	}
	for k := range credentialHeaders {
		if next.Header.Get(k) != "" {
			t.Errorf("%s kept on https -> http", k)
		}
	}
}

// TestNoProxyFromEnvironment: with HTTP_PROXY set, requests still go direct.
func TestNoProxyFromEnvironment(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	errDirect := errors.New("direct dial")
	var dialled []string
	client := testClient(HTTPOptions{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return nil, errDirect // no network: it is enough to see where it went
	}})
	_, err := client.Get("http://api.example.com/v1")
	if !errors.Is(err, errDirect) {
		t.Fatalf("err %v, want the direct dial", err)
	}
	if proxied.Load() != 0 || len(dialled) != 1 || dialled[0] != "api.example.com:80" {
		t.Fatalf("proxied %d, dialled %v: want one direct dial of api.example.com:80", proxied.Load(), dialled)
	}
	if tr := client.Transport.(*retryTransport).next.(*http.Transport); tr.Proxy != nil {
		t.Fatal("the transport has a proxy function")
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		v      string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), 24 * time.Hour, true},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		d, ok := parseRetryAfter(h, now)
		if d != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.v, d, ok, tt.want, tt.wantOK)
		}
		if got := RetryAfter(h, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	opts := HTTPOptions{BaseBackoff: 100 * time.Millisecond, MaxWait: time.Second}
	resp := &http.Response{Header: http.Header{}}
	for attempt := range 40 {
		base := min(100*time.Millisecond<<min(attempt, 20), time.Second)
		for range 20 {
			d, ok := retryWait(context.Background(), opts, resp, attempt)
			if !ok || d < base/2 || d > base {
				t.Fatalf("attempt %d: wait %v, %v; want within [%v, %v]", attempt, d, ok, base/2, base)
			}
		}
	}
}

func TestStatusError(t *testing.T) {
	tests := []struct {
		status    int
		header    string
		code      Code
		retryable bool
		after     time.Duration
	}{
		{400, "", CodeProviderError, false, 0},
		{401, "", CodeAuthFailed, false, 0},
		{403, "", CodePermissionDenied, false, 0},
		{404, "", CodeNotFound, false, 0},
		{429, "30", CodeRateLimited, true, 30 * time.Second},
		{500, "", CodeProviderError, true, 0},
		{501, "", CodeProviderError, false, 0},
		{503, "12", CodeProviderError, true, 12 * time.Second},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
		if tt.header != "" {
			resp.Header.Set("Retry-After", tt.header)
		}
		e := StatusError("shop", resp, "")
		if e.Code != tt.code || e.Retryable != tt.retryable || e.RetryAfter != tt.after || !strings.HasPrefix(e.Message, "shop: ") {
			t.Errorf("%d: %+v", tt.status, e)
		}
	}
	long := strings.Repeat("é", 400)
	e := StatusError("shop", &http.Response{StatusCode: 400, Header: http.Header{}}, long)
	if !utf8.ValidString(e.Message) || len(e.Message) > 400 {
		t.Errorf("detail not truncated cleanly: %d bytes, valid %v", len(e.Message), utf8.ValidString(e.Message))
	}
}
