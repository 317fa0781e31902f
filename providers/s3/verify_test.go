package s3

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	keyID  = "AKIDJUNCTIONTEST01"
	secret = "s3cr3t/Key+JunctionTest0000000000000000"
)

// fakeS3 is gofakes3 (a real S3 protocol implementation over memory) behind
// the checks gofakes3 does not make: a SigV4 signature verified against known
// keys (gofakes3 accepts any Authorization header), the bucket's region (a
// request signed for another region gets S3's 301 PermanentRedirect) and an
// optional policy. Its answers mimic S3's: HEAD errors have no body.
type fakeS3 struct {
	region string
	keys   map[string]string
	// deny, when set, answers AccessDenied for the operations it names.
	deny func(op string, r *http.Request) bool
	// override, when set, may answer a request itself (returning true).
	override func(w http.ResponseWriter, r *http.Request) bool
	inner    http.Handler
	requests atomic.Int32
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.override != nil && f.override(w, r) {
		return
	}
	akid, scopeRegion, ok := checkSigV4(r, f.keys)
	if !ok {
		if _, known := f.keys[akid]; !known {
			s3Error(w, r, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		} else {
			s3Error(w, r, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		}
		return
	}
	w.Header().Set("X-Amz-Bucket-Region", f.region)
	if scopeRegion != f.region {
		s3Error(w, r, http.StatusMovedPermanently, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.")
		return
	}
	op := "Other"
	switch {
	case r.Method == http.MethodHead && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0:
		op = "HeadBucket"
	case r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		op = "ListObjectsV2"
	}
	if f.deny != nil && f.deny(op, r) {
		s3Error(w, r, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	f.inner.ServeHTTP(w, r)
}

func s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>`, code, msg)
}

// checkSigV4 verifies the request's AWS Signature Version 4 against keys. It
// returns the access key id and the region of the credential scope.
func checkSigV4(r *http.Request, keys map[string]string) (akid, region string, ok bool) {
	auth := r.Header.Get("Authorization")
	rest, found := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !found {
		return "", "", false
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[3] != "s3" {
		return "", "", false
	}
	akid, date, region := scope[0], scope[1], scope[2]
	key, known := keys[akid]
	if !known {
		return akid, region, false
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var headers strings.Builder
	for _, h := range signed {
		v := strings.Join(r.Header.Values(h), ",")
		if h == "host" {
			v = r.Host
		}
		fmt.Fprintf(&headers, "%s:%s\n", h, strings.Join(strings.Fields(v), " "))
	}
	var query []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			query = append(query, awsEscape(k)+"="+awsEscape(v))
		}
	}
	sort.Strings(query)
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(query, "&"),
		headers.String(), fields["SignedHeaders"], r.Header.Get("X-Amz-Content-Sha256")}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", r.Header.Get("X-Amz-Date"),
		strings.Join(scope[1:], "/"), hex.EncodeToString(sum[:])}, "\n")
	k := mac([]byte("AWS4"+key), date)
	for _, s := range []string{region, "s3", "aws4_request"} {
		k = mac(k, s)
	}
	want := hex.EncodeToString(mac(k, toSign))
	return akid, region, hmac.Equal([]byte(want), []byte(fields["Signature"]))
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func awsEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%7E", "~")
}

// newFake starts gofakes3 with the given buckets behind the checks above.
func newFake(t *testing.T, region string, buckets ...string) (*fakeS3, *httptest.Server) {
	t.Helper()
	f, ts, _ := newFakeBackend(t, region, buckets...)
	return f, ts
}

// newFakeBackend is newFake that also returns the in-memory store, for tests
// that seed objects without going through HTTP.
func newFakeBackend(t testing.TB, region string, buckets ...string) (*fakeS3, *httptest.Server, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	f := &fakeS3{region: region, keys: map[string]string{keyID: secret}, inner: gofakes3.New(backend).Server()}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return f, ts, backend
}

func settings(endpoint, bucket, region string) map[string]any {
	return map[string]any{"endpoint": endpoint, "bucket": bucket, "region": region, "use_path_style": true}
}

var goodKeys = map[string]string{"access_key_id": keyID, "secret_access_key": secret}

func verify(t *testing.T, ctx context.Context, s map[string]any, secrets map[string]string) (*providers.VerifyResult, *providers.Error) {
	t.Helper()
	c := providertest.Open(t, Driver{}, s, secrets)
	res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
	if err == nil {
		return res, nil
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("verify returned %T %v", err, err)
	}
	return nil, pe
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fakeS3)
		settings func(url string) map[string]any
		secrets  map[string]string
		code     providers.Code // "" means success
		contains string
		details  map[string]any
	}{
		{
			name:     "good",
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  goodKeys,
			details:  map[string]any{"bucket": "reports", "region": "eu-central-1", "checked_with": "HeadBucket"},
		},
		{
			name:     "missing bucket",
			settings: func(u string) map[string]any { return settings(u, "no-such-bucket", "eu-central-1") },
			secrets:  goodKeys, code: providers.CodeNotFound, contains: `bucket "no-such-bucket" does not exist`,
		},
		{
			name:     "unknown access key",
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  map[string]string{"access_key_id": "AKIDUNKNOWN0000", "secret_access_key": secret},
			code:     providers.CodeAuthFailed, contains: "InvalidAccessKeyId",
		},
		{
			name:     "wrong secret",
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  map[string]string{"access_key_id": keyID, "secret_access_key": "wrong-secret-key-000"},
			code:     providers.CodeAuthFailed, contains: "SignatureDoesNotMatch",
		},
		{
			name:     "wrong region",
			settings: func(u string) map[string]any { return settings(u, "reports", "us-east-1") },
			secrets:  goodKeys, code: providers.CodeInvalidConfig, contains: "is in region eu-central-1, not us-east-1; set region to eu-central-1",
		},
		{
			name: "HeadBucket denied, listing the prefix allowed",
			setup: func(f *fakeS3) {
				f.deny = func(op string, r *http.Request) bool {
					q := r.URL.Query()
					return !(op == "ListObjectsV2" && q.Get("prefix") == "team-a/" && q.Get("max-keys") == "1")
				}
			},
			settings: func(u string) map[string]any {
				s := settings(u, "reports", "eu-central-1")
				s["prefix"] = "team-a/"
				return s
			},
			secrets: goodKeys,
			details: map[string]any{"bucket": "reports", "region": "eu-central-1", "prefix": "team-a/", "checked_with": "ListObjectsV2"},
		},
		{
			name:     "everything denied",
			setup:    func(f *fakeS3) { f.deny = func(string, *http.Request) bool { return true } },
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  goodKeys, code: providers.CodePermissionDenied, contains: "AccessDenied",
		},
		{
			name: "clock skew",
			setup: func(f *fakeS3) {
				f.override = func(w http.ResponseWriter, r *http.Request) bool {
					s3Error(w, r, http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
					return true
				}
			},
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  goodKeys, code: providers.CodeProviderError, contains: "clock",
		},
		{
			name: "slow down",
			setup: func(f *fakeS3) {
				f.override = func(w http.ResponseWriter, r *http.Request) bool {
					s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
					return true
				}
			},
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  goodKeys, code: providers.CodeRateLimited, contains: "slowing requests down",
		},
		{
			name: "the upstream echoes the secret",
			setup: func(f *fakeS3) {
				f.override = func(w http.ResponseWriter, r *http.Request) bool {
					s3Error(w, r, http.StatusBadRequest, "InvalidArgument", "bad signature key "+secret)
					return true
				}
			},
			settings: func(u string) map[string]any { return settings(u, "reports", "eu-central-1") },
			secrets:  goodKeys, code: providers.CodeProviderError, contains: "HTTP 400",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ts := newFake(t, "eu-central-1", "reports")
			if tt.setup != nil {
				tt.setup(f)
			}
			res, perr := verify(t, context.Background(), tt.settings(ts.URL), tt.secrets)
			if tt.code == "" {
				if perr != nil {
					t.Fatalf("verify: %s: %s", perr.Code, perr.Message)
				}
				for k, v := range tt.details {
					if res.Details[k] != v {
						t.Errorf("details[%s] = %v, want %v (all: %v)", k, res.Details[k], v, res.Details)
					}
				}
				if res.Details["endpoint"] != ts.URL+"/reports" {
					t.Errorf("endpoint = %v", res.Details["endpoint"])
				}
				return
			}
			if perr == nil {
				t.Fatalf("verify succeeded, want %s", tt.code)
			}
			if perr.Code != tt.code {
				t.Fatalf("code = %s (%s), want %s", perr.Code, perr.Message, tt.code)
			}
			if !strings.Contains(perr.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", perr.Message, tt.contains)
			}
			for _, s := range []string{secret, "wrong-secret-key-000"} {
				if strings.Contains(perr.Message, s) {
					t.Errorf("message leaks a secret: %q", perr.Message)
				}
			}
		})
	}
}

func TestVerifyRetriesThenSucceeds(t *testing.T) {
	f, ts := newFake(t, "eu-central-1", "reports")
	var calls atomic.Int32
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		if calls.Add(1) > 1 {
			return false
		}
		w.Header().Set("Retry-After", "0")
		s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return true
	}
	res, perr := verify(t, context.Background(), settings(ts.URL, "reports", "eu-central-1"), goodKeys)
	if perr != nil {
		t.Fatalf("verify: %s: %s", perr.Code, perr.Message)
	}
	if res.Details["checked_with"] != "HeadBucket" || calls.Load() != 2 {
		t.Errorf("details %v after %d calls", res.Details, calls.Load())
	}
}

func TestVerifyRateLimitedReturnsFast(t *testing.T) {
	f, ts := newFake(t, "eu-central-1", "reports")
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "30")
		s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, perr := verify(t, ctx, settings(ts.URL, "reports", "eu-central-1"), goodKeys)
	if perr == nil {
		t.Fatal("verify succeeded, want rate_limited")
	}
	providertest.WantRateLimited(t, perr, 30*time.Second)
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests: the SDK must not add retries of its own", n)
	}
}

// recorder is a transport that notes every request it carries.
type recorder struct {
	next http.RoundTripper
	seen atomic.Int32
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.seen.Add(1)
	return r.next.RoundTrip(req)
}

func TestVerifyUsesConfiguredClient(t *testing.T) {
	_, ts := newFake(t, "eu-central-1", "reports")
	rec := &recorder{next: http.DefaultTransport}
	cfg := providertest.Config(t, Driver{}, settings(ts.URL, "reports", "eu-central-1"), goodKeys)
	cfg.HTTPClient = &http.Client{Transport: rec}
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatal(err)
	}
	if rec.seen.Load() == 0 {
		t.Error("the request did not go through cfg.HTTPClient")
	}
}

func TestVerifyUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, perr := verify(t, context.Background(), settings("http://"+addr, "reports", "eu-central-1"), goodKeys)
	if perr == nil || perr.Code != providers.CodeUnreachable {
		t.Fatalf("got %+v, want unreachable", perr)
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		contains string
	}{
		{"endpoint not http", settings("ftp://s3.example", "reports", "us-east-1"), "https://"},
		{"endpoint with credentials", settings("https://user:pw@s3.example", "reports", "us-east-1"), "credentials"},
		{"endpoint without host", settings("https://", "reports", "us-east-1"), "no host"},
		{"bucket with a slash", settings("https://s3.example", "reports/../x", "us-east-1"), "not a bucket name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, tt.settings, goodKeys))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("open: %v, want invalid_config", err)
			}
			if !strings.Contains(pe.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", pe.Message, tt.contains)
			}
		})
	}
}

func TestDefaultEndpoint(t *testing.T) {
	c := providertest.Open(t, Driver{}, map[string]any{"bucket": "reports", "region": "eu-west-1"}, goodKeys).(*conn)
	if c.endpoint != "https://reports.s3.eu-west-1.amazonaws.com" {
		t.Errorf("endpoint = %q", c.endpoint)
	}
}
