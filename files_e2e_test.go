package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/netguard"
	"github.com/junctionhq/junction/store"
)

// s3Fake is gofakes3 (the real S3 protocol over memory) on loopback with one
// bucket; objects are put straight into its backend.
type s3Fake struct {
	url     string
	backend *s3mem.Backend
	// lists counts ListObjectsV2 requests in flight and their peak.
	inFlight, peak atomic.Int32
}

func newS3Fake(tb testing.TB, bucket string) *s3Fake {
	tb.Helper()
	f := &s3Fake{backend: s3mem.New()}
	if err := f.backend.CreateBucket(bucket); err != nil {
		tb.Fatal(err)
	}
	inner := gofakes3.New(f.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
		}
		inner.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *s3Fake) put(tb testing.TB, bucket string, keys ...string) {
	tb.Helper()
	body := []byte("0123456789")
	for _, k := range keys {
		if _, err := f.backend.PutObject(bucket, k, map[string]string{"Content-Type": "text/csv"}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			tb.Fatal(err)
		}
	}
}

func s3Input(name, endpoint, bucket, prefix string) map[string]any {
	return map[string]any{"name": name, "provider": "s3", "visibility": "global",
		"config":      map[string]any{"bucket": bucket, "endpoint": endpoint, "use_path_style": true, "region": "us-east-1", "prefix": prefix},
		"credentials": map[string]any{"access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}
}

// TestFilesEndToEnd browses an S3 bucket the way a new user would: the
// nested files field in GraphQL and the REST paths give the same pages,
// every object of a large folder exactly once, and a validation counts the
// selection.
func TestFilesEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		fake := newS3Fake(t, "lake")
		var big []string
		for i := range 2500 {
			big = append(big, fmt.Sprintf("data/big/part-%04d.csv", i))
		}
		fake.put(t, "lake", big...)
		fake.put(t, "lake", "data/a.csv", "data/nested/deep/b.csv", "outside.csv")
		c := e.create(e.admin, s3Input("Lake", fake.url, "lake", "data"))

		// GraphQL: the lazy files field, nested in the connection.
		var got struct {
			Files struct {
				Path  string
				Items []struct{ ID, Kind, Name, Path string }
			}
		}
		e.must(e.admin, `query($id: ID!) { connection(id: $id) { files(path: "/") { path items { id kind name path } } } }`,
			map[string]any{"id": c.ID}, "connection", &got)
		var names []string
		for _, it := range got.Files.Items {
			names = append(names, it.Kind+":"+it.Path)
		}
		if strings.Join(names, ",") != "file:/a.csv,folder:/big,folder:/nested" {
			t.Fatalf("root listing %v", names)
		}

		// REST: page through 2,500 objects; every one exactly once.
		seen := map[string]int{}
		next := ""
		for pages := 0; ; pages++ {
			path := "/api/v1/connections/" + c.ID + "/files?path=/big&pageSize=1000"
			if next != "" {
				path += "&pageToken=" + urlEscape(next)
			}
			w := e.do("GET", path, e.admin, nil)
			if w.Code != 200 {
				t.Fatalf("page %d: %d %s", pages, w.Code, w.Body)
			}
			var page struct {
				Items         []struct{ Path string }
				NextPageToken *string
			}
			json.Unmarshal(w.Body.Bytes(), &page)
			for _, it := range page.Items {
				seen[it.Path]++
			}
			if page.NextPageToken == nil {
				break
			}
			next = *page.NextPageToken
		}
		if len(seen) != 2500 {
			t.Fatalf("saw %d objects, want 2500", len(seen))
		}
		for p, n := range seen {
			if n != 1 {
				t.Fatalf("%s seen %d times", p, n)
			}
		}

		// Validation: both surfaces, the same counts.
		w := e.do("POST", "/api/v1/connections/"+c.ID+"/files/validate", e.admin,
			map[string]any{"selectedItems": []string{"/a.csv", "/nested", "/big", "/missing", "../outside.csv"}})
		var v struct {
			Valid                            bool
			TotalItems, TotalBytes, MaxDepth int
			Violations                       []struct{ Item, Code string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 {
			t.Fatalf("validate: %d %s", w.Code, w.Body)
		}
		if v.Valid || v.TotalItems != 2502 || v.TotalBytes != 25020 || v.MaxDepth != 2 || len(v.Violations) != 2 ||
			v.Violations[0].Code != "not_found" || v.Violations[1].Code != "outside_root" {
			t.Fatalf("validation %+v", v)
		}
		var gv struct{ ValidateFileSelection struct{ TotalItems int } }
		e.must(e.admin, `query($id: ID!) { connection(id: $id) { validateFileSelection(selectedItems: ["/big", "/a.csv"]) { totalItems } } }`,
			map[string]any{"id": c.ID}, "connection", &gv)
		if gv.ValidateFileSelection.TotalItems != 2501 {
			t.Fatalf("GraphQL validation counted %d", gv.ValidateFileSelection.TotalItems)
		}

		// lastUsedAt is recorded by files calls.
		var after struct{ LastUsedAt *time.Time }
		e.must(e.admin, `query($id: ID!) { connection(id: $id) { lastUsedAt } }`, map[string]any{"id": c.ID}, "connection", &after)
		if after.LastUsedAt == nil {
			t.Fatal("lastUsedAt not recorded")
		}
	})
}

// BenchmarkS3Page lists one 1,000-object page of an S3 folder through
// Junction's REST path ("junction_rest") against the same ListObjectsV2 call
// made directly with the SDK ("sdk"), on the same in-process S3 server.
// Goal: junction_rest at least 0.7x the SDK's throughput.
// Run: go test -run - -bench S3Page -benchtime 50x .
func BenchmarkS3Page(b *testing.B) {
	h, token, fake, id := benchFilesServer(b, 1000)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	b.Run("sdk", func(b *testing.B) {
		for b.Loop() {
			out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake"),
				Prefix: aws.String("big/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1000)})
			if err != nil || len(out.Contents) != 1000 {
				b.Fatal(err)
			}
		}
	})
	guarded := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.url), UsePathStyle: true,
		HTTPClient:  netguard.New(netguard.Options{}).HTTPClient(providers.HTTPOptions{}),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	b.Run("sdk_guarded_client", func(b *testing.B) {
		for b.Loop() {
			out, err := guarded.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake"),
				Prefix: aws.String("big/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1000)})
			if err != nil || len(out.Contents) != 1000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("junction_rest", func(b *testing.B) {
		for b.Loop() {
			req := httptest.NewRequest("GET", "/api/v1/connections/"+id+"/files?path=/big&pageSize=1000", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkValidateTree validates a whole tree of n objects through REST
// ("junction_validate") against a raw SDK paginator walk of the same keys
// ("sdk_walk"), and reports the peak heap growth during the run
// (peak-heap-MB): it must not grow with the tree.
// Run: go test -run - -bench ValidateTree -benchtime 3x .
func BenchmarkValidateTree(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h, token, fake, id := benchFilesServer(b, n)
			client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.url), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
			b.Run("sdk_walk", func(b *testing.B) {
				for b.Loop() {
					count := 0
					p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("big/")})
					for p.HasMorePages() {
						out, err := p.NextPage(context.Background())
						if err != nil {
							b.Fatal(err)
						}
						count += len(out.Contents)
					}
					if count != n {
						b.Fatalf("walked %d", count)
					}
				}
			})
			b.Run("junction_validate", func(b *testing.B) {
				peak := watchHeap(b)
				for b.Loop() {
					req := httptest.NewRequest("POST", "/api/v1/connections/"+id+"/files/validate", strings.NewReader(`{"selectedItems":["/big"]}`))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 || !strings.Contains(w.Body.String(), fmt.Sprintf(`"totalItems":%d`, n)) {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
				b.ReportMetric(peak(), "peak-heap-MB")
			})
		})
	}
}

// watchHeap samples the live heap until the returned func is called and
// returns the peak growth over the heap at the start, in MB.
func watchHeap(b *testing.B) func() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mu.Lock()
				peak = max(peak, ms.HeapAlloc)
				mu.Unlock()
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		if peak < base {
			return 0
		}
		return float64(peak-base) / (1 << 20)
	}
}

// benchFilesServer starts Junction on SQLite with an s3 connection to a
// fake bucket holding n objects under big/.
func benchFilesServer(b *testing.B, n int) (http.Handler, string, *s3Fake, string) {
	b.Helper()
	st := testdb.Open(b, testdb.DB{Name: "sqlite", DataDir: b.TempDir()}, testdb.NewKey(b))
	token := "jct_bench_" + store.NewID()
	if _, err := st.EnsureUserToken(context.Background(), "acme", "alice", "a@example.com", "admin", token); err != nil {
		b.Fatal(err)
	}
	cfg := testConfig()
	cfg.LogLevel = 8 // errors only
	h, closeConns := newHandler(cfg, st, newLogger(cfg, &lockedBuffer{}))
	b.Cleanup(closeConns)
	fake := newS3Fake(b, "lake")
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("big/d%02d/part-%06d.csv", i%50, i)
	}
	if n <= 1000 {
		for i := range keys {
			keys[i] = fmt.Sprintf("big/part-%06d.csv", i)
		}
	}
	fake.put(b, "lake", keys...)
	raw, _ := json.Marshal(s3Input("Lake", fake.url, "lake", ""))
	req := httptest.NewRequest("POST", "/api/v1/connections", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var c struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != 201 {
		b.Fatalf("create: %d %s", w.Code, w.Body)
	}
	return h, token, fake, c.ID
}
