package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// object is one seeded object; its body is size bytes.
type object struct {
	key         string
	size        int
	contentType string
}

var modTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// seed puts objects straight into the store (no HTTP), with the metadata
// gofakes3 would have recorded for a PutObject.
func seed(t testing.TB, b *s3mem.Backend, bucket string, objs ...object) {
	t.Helper()
	for _, o := range objs {
		meta := map[string]string{"Last-Modified": modTime.Format(http.TimeFormat)}
		if o.contentType != "" {
			meta["Content-Type"] = o.contentType
		}
		body := bytes.Repeat([]byte("x"), o.size)
		if _, err := b.PutObject(bucket, o.key, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatalf("seed %s: %v", o.key, err)
		}
	}
}

// openFiles opens a conn on bucket "reports" of the fake, under prefix.
func openFiles(t testing.TB, url, prefix string) *conn {
	t.Helper()
	s := settings(url, "reports", "eu-central-1")
	if prefix != "" {
		s["prefix"] = prefix
	}
	return providertest.Open(t, Driver{}, s, goodKeys).(*conn)
}

// tree is the fixture of most tests: nested folders, folder markers, a
// folder with only its marker, and keys no clean path can name.
var tree = []object{
	{key: "a.json", size: 10},
	{key: "docs/", size: 0},
	{key: "docs/readme.pdf", size: 20},
	{key: "docs/index.html", size: 21},
	{key: "docs/2024/q1.csv", size: 30},
	{key: "docs/2024/q2.csv", size: 40},
	{key: "docs/2024/deep/er/x.json", size: 50},
	{key: "empty/", size: 0},
	{key: "noext", size: 5},
	{key: "both", size: 6},
	{key: "both/inside.json", size: 7},
	{key: "odd//hidden.json", size: 1},
	{key: "odd/../escape.json", size: 1},
	{key: "odd/./dot.json", size: 1},
	{key: "odd/ok.json", size: 2},
}

// describe is an item in one line: kind, path, name, size and mime ("-" for
// nil). It also checks what every item must satisfy.
func describe(t *testing.T, it providers.FileItem) string {
	t.Helper()
	if it.ID != it.Path {
		t.Errorf("%s: id %q is not the path", it.Path, it.ID)
	}
	str := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	switch it.Kind {
	case providers.FileKindFolder:
		if it.Size != nil || it.MimeType != nil || it.ModifiedAt != nil {
			t.Errorf("%s: a folder with size, mime or time: %+v", it.Path, it)
		}
		return fmt.Sprintf("folder %s %s", it.Path, it.Name)
	case providers.FileKindFile:
		if it.Size == nil || it.ModifiedAt == nil {
			t.Errorf("%s: a file without size or time: %+v", it.Path, it)
			return ""
		}
		return fmt.Sprintf("file %s %s %d %s", it.Path, it.Name, *it.Size, str(it.MimeType))
	}
	t.Errorf("%s: kind %q", it.Path, it.Kind)
	return ""
}

// newServer serves h on loopback until the test ends.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func wantError(t *testing.T, err error, code providers.Code, contains string) {
	t.Helper()
	pe := providertest.WantCode(t, err, code)
	if !strings.Contains(pe.Message, contains) {
		t.Errorf("message %q does not contain %q", pe.Message, contains)
	}
	if strings.Contains(pe.Message, secret) {
		t.Errorf("message leaks the secret: %q", pe.Message)
	}
}

func TestCapabilities(t *testing.T) {
	if !slices.Contains(Driver{}.Spec().Capabilities, providers.CapFiles) {
		t.Errorf("capabilities %v lack %q", Driver{}.Spec().Capabilities, providers.CapFiles)
	}
}

func TestRootPrefix(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "data": "data/", "data/": "data/", "/data/": "data/", "a/b": "a/b/", "//a/b//": "a/b/"} {
		if got := rootPrefix(in); got != want {
			t.Errorf("rootPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestListFiles(t *testing.T) {
	_, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	seed(t, b, "reports", tree...)
	c := openFiles(t, ts.URL, "")
	tests := []struct {
		name   string
		folder providers.FileRef
		want   []string
		code   providers.Code
		msg    string
	}{
		{
			name: "root", folder: providers.FileRef{Path: "/"},
			want: []string{"file /a.json a.json 10 application/json", "file /both both 6 -", "folder /both both", "folder /docs docs", "folder /empty empty", "file /noext noext 5 -", "folder /odd odd"},
		},
		{
			name: "nested, marker skipped, mime without parameters", folder: providers.FileRef{Path: "/docs"},
			want: []string{"folder /docs/2024 2024", "file /docs/index.html index.html 21 text/html", "file /docs/readme.pdf readme.pdf 20 application/pdf"},
		},
		{name: "deeper", folder: providers.FileRef{Path: "/docs/2024/deep"}, want: []string{"folder /docs/2024/deep/er er"}},
		{name: "unclean path", folder: providers.FileRef{Path: "docs/2024/deep/./"}, want: []string{"folder /docs/2024/deep/er er"}},
		{name: "only a marker", folder: providers.FileRef{Path: "/empty"}, want: []string{}},
		{name: "keys no path can name are left out", folder: providers.FileRef{Path: "/odd"}, want: []string{"file /odd/ok.json ok.json 2 application/json"}},
		{name: "missing folder", folder: providers.FileRef{Path: "/missing"}, code: providers.CodeNotFound, msg: "s3: the folder /missing was not found"},
		{name: "a file is not a folder", folder: providers.FileRef{Path: "/a.json"}, code: providers.CodeNotFound, msg: "/a.json"},
		{name: "ids name nothing", folder: providers.FileRef{ID: "docs"}, code: providers.CodeNotFound, msg: "not by id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: tt.folder, PageSize: 100})
			if tt.code != "" {
				wantError(t, err, tt.code, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, it := range page.Items {
				got = append(got, describe(t, it))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items\n got %q\nwant %q", got, tt.want)
			}
			if page.Cursor != "" {
				t.Errorf("cursor %q on the only page", page.Cursor)
			}
		})
	}
}

// listAll pages through folder, failing on any entry seen twice, and returns
// the paths and the number of pages.
func listAll(t *testing.T, c *conn, folder string, pageSize int) ([]string, int) {
	t.Helper()
	seen := map[string]bool{}
	var paths []string
	cursor, pages := "", 0
	for {
		page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: folder}, Cursor: cursor, PageSize: pageSize})
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if len(page.Items) > pageSize {
			t.Fatalf("page %d has %d items, more than %d", pages, len(page.Items), pageSize)
		}
		for _, it := range page.Items {
			if seen[it.Path] {
				t.Fatalf("%s listed twice (page %d)", it.Path, pages)
			}
			seen[it.Path] = true
			paths = append(paths, it.Path)
		}
		if page.Cursor == "" {
			return paths, pages
		}
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		cursor = page.Cursor
	}
}

// bigFolder is 2,500 files, three sub-folders of three files each and the
// folder's marker, all under key prefix dir.
func bigFolder(dir string) []object {
	objs := []object{{key: dir}}
	for i := range 2500 {
		objs = append(objs, object{key: fmt.Sprintf("%sf%04d.json", dir, i), size: i})
	}
	for i := range 3 {
		for j := range 3 {
			objs = append(objs, object{key: fmt.Sprintf("%ssub%d/g%d.json", dir, i, j), size: 1})
		}
	}
	return objs
}

func TestListFilesPaging(t *testing.T) {
	_, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	big := bigFolder("big/")
	seed(t, b, "reports", big...)
	inPrefix := bigFolder("data/")
	seed(t, b, "reports", inPrefix...)
	seed(t, b, "reports", object{key: "zzz.json"}, object{key: "data.json"})
	var want []string
	for i := range 2500 {
		want = append(want, fmt.Sprintf("/f%04d.json", i))
	}
	want = append(want, "/sub0", "/sub1", "/sub2")
	tests := []struct {
		name, prefix, folder, base string
		pageSize, pages            int
	}{
		// The marker takes a key of the first page, so 2,503 entries need 2,504 keys.
		{name: "1000 a page", folder: "/big", base: "/big", pageSize: 1000, pages: 3},
		{name: "333 a page", folder: "/big", base: "/big", pageSize: 333, pages: 8},
		{name: "more than S3 allows is 1000", folder: "/big", base: "/big", pageSize: 5000, pages: 3},
		{name: "the prefix root", prefix: "data/", folder: "/", base: "", pageSize: 1000, pages: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := openFiles(t, ts.URL, tt.prefix)
			got, pages := listAll(t, c, tt.folder, min(tt.pageSize, 1000))
			if pages != tt.pages {
				t.Errorf("%d pages, want %d", pages, tt.pages)
			}
			slices.Sort(got)
			wantHere := make([]string, len(want))
			for i, w := range want {
				wantHere[i] = tt.base + w
			}
			if !slices.Equal(got, wantHere) {
				t.Errorf("%d entries, want %d (first %q, last %q)", len(got), len(wantHere), got[:min(3, len(got))], got[max(0, len(got)-3):])
			}
		})
	}
}

// request is one request the fake saw, reduced to what the prefix test checks.
type request struct{ method, path, prefix string }

func TestPrefixRoot(t *testing.T) {
	f, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	seed(t, b, "reports",
		object{key: "data/in.json", size: 3},
		object{key: "data/sub/x.json", size: 4},
		object{key: "data/other/", size: 0},
		object{key: "database.json", size: 1},
		object{key: "other/secret.json", size: 1},
		object{key: "secret.json", size: 1},
	)
	var (
		mu   sync.Mutex
		seen []request
	)
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		seen = append(seen, request{r.Method, r.URL.Path, r.URL.Query().Get("prefix")})
		mu.Unlock()
		return false
	}
	for _, prefix := range []string{"data", "data/", "/data/"} {
		t.Run(prefix, func(t *testing.T) {
			c := openFiles(t, ts.URL, prefix)
			ctx := context.Background()

			page, err := c.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/"}, PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range page.Items {
				got = append(got, describe(t, it))
			}
			if want := []string{"file /in.json in.json 3 application/json", "folder /other other", "folder /sub sub"}; !slices.Equal(got, want) {
				t.Errorf("root\n got %q\nwant %q", got, want)
			}

			// "/../other" is "/other" after CleanPath: the empty data/other/, never other/.
			for _, p := range []string{"/../other", "../other", "/other/../../other"} {
				clean, _ := providers.CleanPath(p)
				page, err := c.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: clean}, PageSize: 100})
				if err != nil || len(page.Items) != 0 {
					t.Errorf("list %q: %v %+v, want the empty data/other/", p, err, page)
				}
			}
			_, err = c.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/../secret.json"}, PageSize: 100})
			wantError(t, err, providers.CodeNotFound, "not found")

			st, err := c.StatFiles(ctx, providers.StatFilesRequest{Items: []providers.FileRef{
				{Path: "/in.json"}, {Path: "/../other/secret.json"}, {Path: "/../secret.json"}, {Path: "/../database.json"}, {Path: "/"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if st.Items[0].Err != nil || st.Items[0].Item.Path != "/in.json" {
				t.Errorf("stat /in.json: %+v", st.Items[0])
			}
			for _, s := range st.Items[1:4] {
				if s.Err == nil || s.Err.Code != providers.CodeNotFound {
					t.Errorf("stat outside the root: %+v, want not_found", s)
				}
			}
			if st.Items[4].Err != nil || st.Items[4].Item.Kind != providers.FileKindFolder {
				t.Errorf("stat /: %+v", st.Items[4])
			}

			var walked []string
			if err := c.WalkFiles(ctx, providers.WalkFilesRequest{Folder: providers.FileRef{Path: "/"}}, func(it providers.FileItem, depth int) error {
				walked = append(walked, fmt.Sprintf("%s %d", it.Path, depth))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := []string{"/in.json 1", "/sub/x.json 2"}; !slices.Equal(walked, want) {
				t.Errorf("walk %q, want %q", walked, want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("no requests seen")
	}
	for _, r := range seen {
		switch r.method {
		case http.MethodGet:
			if strings.TrimSuffix(r.path, "/") != "/reports" || !strings.HasPrefix(r.prefix, "data/") {
				t.Errorf("a listing outside the prefix: %+v", r)
			}
		case http.MethodHead:
			if !strings.HasPrefix(r.path, "/reports/data/") {
				t.Errorf("a HEAD outside the prefix: %+v", r)
			}
		default:
			t.Errorf("unexpected request %+v", r)
		}
	}
}

func TestStatFiles(t *testing.T) {
	f, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	seed(t, b, "reports", tree...)
	seed(t, b, "reports",
		object{key: "typed.csv", size: 7, contentType: "text/csv; charset=utf-8"},
		object{key: "raw.pdf", size: 8, contentType: "binary/octet-stream"},
		object{key: "raw.unknownext", size: 9, contentType: "application/octet-stream"},
		object{key: "locked.json", size: 1},
		object{key: "secret/x.json", size: 1},
	)
	f.deny = func(op string, r *http.Request) bool {
		p := r.URL.Path
		return strings.HasPrefix(p, "/reports/secret") || p == "/reports/locked.json" ||
			(op == "ListObjectsV2" && strings.HasPrefix(r.URL.Query().Get("prefix"), "secret"))
	}
	c := openFiles(t, ts.URL, "")
	refs := []providers.FileRef{
		{Path: "/a.json"},
		{Path: "/docs"},
		{Path: "/nope.json"},
		{Path: "/"},
		{Path: "/typed.csv"},
		{Path: "/raw.pdf"},
		{Path: "/raw.unknownext"},
		{Path: "/docs/2024/deep"},
		{Path: "/empty"},
		{ID: "a.json"},
		{Path: "/secret/x.json"},
		{Path: "/secret"},
		{Path: "/locked.json"},
		{Path: "/a.json"},
		{Path: "/docs/readme.pdf"},
		{Path: "/odd"},
		{Path: "/odd/nothing"},
	}
	want := []string{
		"file /a.json a.json 10 application/json",
		"folder /docs docs",
		"not_found s3: /nope.json was not found",
		"folder / /",
		"file /typed.csv typed.csv 7 text/csv",
		"file /raw.pdf raw.pdf 8 application/pdf",
		"file /raw.unknownext raw.unknownext 9 application/octet-stream",
		"folder /docs/2024/deep deep",
		"folder /empty empty",
		"not_found not by id",
		"permission_denied AccessDenied",
		"permission_denied AccessDenied",
		"permission_denied s3:GetObject",
		"file /a.json a.json 10 application/json",
		"file /docs/readme.pdf readme.pdf 20 application/pdf",
		"folder /odd odd",
		"not_found s3: /odd/nothing was not found",
	}
	res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != len(refs) {
		t.Fatalf("%d results for %d items", len(res.Items), len(refs))
	}
	for i, st := range res.Items {
		t.Run(refs[i].String(), func(t *testing.T) {
			if st.Err != nil {
				if st.Item != (providers.FileItem{}) {
					t.Errorf("an item with an error: %+v", st.Item)
				}
				code, msg, _ := strings.Cut(want[i], " ")
				wantError(t, st.Err, providers.Code(code), msg)
				return
			}
			if got := describe(t, st.Item); got != want[i] {
				t.Errorf("got %q, want %q", got, want[i])
			}
			if st.Item.Kind == providers.FileKindFile && !st.Item.ModifiedAt.Equal(modTime) {
				t.Errorf("modified %v, want %v", st.Item.ModifiedAt, modTime)
			}
		})
	}
	t.Run("empty request", func(t *testing.T) {
		res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{})
		if err != nil || len(res.Items) != 0 {
			t.Errorf("%+v, %v", res, err)
		}
	})
}

func TestStatFilesWholeCallFailures(t *testing.T) {
	refs := make([]providers.FileRef, 40)
	for i := range refs {
		refs[i] = providers.FileRef{Path: fmt.Sprintf("/missing-%d.json", i)}
	}
	tests := []struct {
		name    string
		setup   func(f *fakeS3)
		bucket  string
		secrets map[string]string
		code    providers.Code
		msg     string
	}{
		{
			name: "wrong secret", bucket: "reports", code: providers.CodeAuthFailed, msg: "SignatureDoesNotMatch",
			secrets: map[string]string{"access_key_id": keyID, "secret_access_key": "wrong-secret-key-000"},
		},
		{name: "missing bucket", bucket: "nope", code: providers.CodeNotFound, msg: `bucket "nope" does not exist`},
		{
			name: "slow down", bucket: "reports", code: providers.CodeRateLimited, msg: "slowing requests down",
			setup: func(f *fakeS3) {
				f.override = func(w http.ResponseWriter, r *http.Request) bool {
					s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
					return true
				}
			},
		},
		{
			name: "everything denied", bucket: "reports", code: providers.CodePermissionDenied, msg: "AccessDenied",
			setup: func(f *fakeS3) { f.deny = func(string, *http.Request) bool { return true } },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ts := newFake(t, "eu-central-1", "reports")
			if tt.setup != nil {
				tt.setup(f)
			}
			secrets := goodKeys
			if tt.secrets != nil {
				secrets = tt.secrets
			}
			c := providertest.Open(t, Driver{}, settings(ts.URL, tt.bucket, "eu-central-1"), secrets).(*conn)
			res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: refs})
			if tt.code == providers.CodePermissionDenied {
				// Denial is per item: each says so, the call stands.
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range res.Items {
					wantError(t, st.Err, tt.code, tt.msg)
				}
				return
			}
			wantError(t, err, tt.code, tt.msg)
			if strings.Contains(err.Error(), "wrong-secret-key-000") {
				t.Errorf("message leaks the secret: %v", err)
			}
		})
	}
}

// TestStatFilesConcurrency holds every request until eight are in flight:
// the call only finishes if StatFiles reaches eight at once, and the count
// proves it never goes past.
func TestStatFilesConcurrency(t *testing.T) {
	f, _, b := newFakeBackend(t, "eu-central-1", "reports")
	refs := make([]providers.FileRef, 30)
	for i := range refs {
		seed(t, b, "reports", object{key: fmt.Sprintf("f%02d.json", i), size: i})
		refs[i] = providers.FileRef{Path: fmt.Sprintf("/f%02d.json", i)}
	}
	var (
		inflight, most atomic.Int32
		gate           = make(chan struct{})
		once           sync.Once
	)
	gated := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if n >= statWorkers {
			once.Do(func() { close(gate) })
		}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		f.ServeHTTP(w, r)
	})
	ts := newServer(t, gated)
	c := openFiles(t, ts.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.StatFiles(ctx, providers.StatFilesRequest{Items: refs})
	if err != nil {
		t.Fatalf("%v (most in flight: %d)", err, most.Load())
	}
	if m := most.Load(); m != statWorkers {
		t.Errorf("at most %d requests in flight, want %d", m, statWorkers)
	}
	for i, st := range res.Items {
		if st.Err != nil || st.Item.Path != refs[i].Path || *st.Item.Size != int64(i) {
			t.Errorf("item %d: %+v, want %s", i, st, refs[i].Path)
		}
	}
}

func TestWalkFiles(t *testing.T) {
	_, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	seed(t, b, "reports", tree...)
	big := bigFolder("big/")
	seed(t, b, "reports", big...)
	c := openFiles(t, ts.URL, "")
	tests := []struct {
		name     string
		folder   providers.FileRef
		maxDepth int
		want     []string
		count    int // instead of want, for big trees
		code     providers.Code
		msg      string
	}{
		{
			name: "tree", folder: providers.FileRef{Path: "/docs"},
			want: []string{"/docs/2024/deep/er/x.json 4 50", "/docs/2024/q1.csv 2 30", "/docs/2024/q2.csv 2 40", "/docs/index.html 1 21", "/docs/readme.pdf 1 20"},
		},
		{
			name: "max depth 1 keeps depth 2", folder: providers.FileRef{Path: "/docs"}, maxDepth: 1,
			want: []string{"/docs/2024/q1.csv 2 30", "/docs/2024/q2.csv 2 40", "/docs/index.html 1 21", "/docs/readme.pdf 1 20"},
		},
		{
			name: "max depth 2 cuts depth 4", folder: providers.FileRef{Path: "/docs"}, maxDepth: 2,
			want: []string{"/docs/2024/q1.csv 2 30", "/docs/2024/q2.csv 2 40", "/docs/index.html 1 21", "/docs/readme.pdf 1 20"},
		},
		{
			name: "max depth 3 keeps depth 4", folder: providers.FileRef{Path: "/docs"}, maxDepth: 3,
			want: []string{"/docs/2024/deep/er/x.json 4 50", "/docs/2024/q1.csv 2 30", "/docs/2024/q2.csv 2 40", "/docs/index.html 1 21", "/docs/readme.pdf 1 20"},
		},
		{name: "a sub-folder", folder: providers.FileRef{Path: "/docs/2024/deep"}, want: []string{"/docs/2024/deep/er/x.json 2 50"}},
		{name: "only a marker", folder: providers.FileRef{Path: "/empty"}, want: []string{}},
		{name: "keys no path can name are left out", folder: providers.FileRef{Path: "/odd"}, want: []string{"/odd/ok.json 1 2"}},
		{name: "many pages", folder: providers.FileRef{Path: "/big"}, count: 2509},
		{name: "the root", folder: providers.FileRef{Path: "/"}, count: 2509 + 10},
		{name: "the root, max depth 1", folder: providers.FileRef{Path: "/"}, maxDepth: 1, count: 2500 + 7},
		{name: "missing folder", folder: providers.FileRef{Path: "/missing"}, code: providers.CodeNotFound, msg: "s3: the folder /missing was not found"},
		{name: "a file is not a folder", folder: providers.FileRef{Path: "/a.json"}, code: providers.CodeNotFound, msg: "/a.json"},
		{name: "ids name nothing", folder: providers.FileRef{ID: "docs"}, code: providers.CodeNotFound, msg: "not by id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []string{}
			seen := map[string]bool{}
			err := c.WalkFiles(context.Background(), providers.WalkFilesRequest{Folder: tt.folder, MaxDepth: tt.maxDepth}, func(it providers.FileItem, depth int) error {
				if d := describe(t, it); !strings.HasPrefix(d, "file ") {
					t.Errorf("walked a folder: %s", d)
				}
				if seen[it.Path] {
					t.Errorf("%s walked twice", it.Path)
				}
				seen[it.Path] = true
				if want := strings.Count(strings.TrimPrefix(it.Path, strings.TrimSuffix(tt.folder.Path, "/")), "/"); depth != want {
					t.Errorf("%s: depth %d, want %d", it.Path, depth, want)
				}
				got = append(got, fmt.Sprintf("%s %d %d", it.Path, depth, *it.Size))
				return nil
			})
			if tt.code != "" {
				wantError(t, err, tt.code, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != tt.count {
					t.Errorf("%d files, want %d", len(got), tt.count)
				}
				return
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("walked\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWalkFilesStops(t *testing.T) {
	f, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	big := bigFolder("big/")
	seed(t, b, "reports", big...)
	c := openFiles(t, ts.URL, "")
	walk := func(ctx context.Context, fn providers.WalkFunc) error {
		return c.WalkFiles(ctx, providers.WalkFilesRequest{Folder: providers.FileRef{Path: "/big"}}, fn)
	}

	t.Run("fn's error is returned unchanged, no further page is read", func(t *testing.T) {
		stop := errors.New("enough")
		before, calls := f.requests.Load(), 0
		err := walk(context.Background(), func(providers.FileItem, int) error { calls++; return stop })
		if err != stop || calls != 1 {
			t.Errorf("err %v after %d calls, want %v after 1", err, calls, stop)
		}
		if n := f.requests.Load() - before; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("a cancelled context stops the walk", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := walk(ctx, func(providers.FileItem, int) error {
			if calls++; calls == 1 {
				cancel()
			}
			return nil
		})
		wantError(t, err, providers.CodeTimeout, "cancelled")
		if calls != maxKeys-1 {
			t.Errorf("%d calls, want the first page's %d", calls, maxKeys-1)
		}
	})
	t.Run("a cancelled context stops listing and stat", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/big"}, PageSize: 10})
		wantError(t, err, providers.CodeTimeout, "cancelled")
		_, err = c.StatFiles(ctx, providers.StatFilesRequest{Items: []providers.FileRef{{Path: "/big"}}})
		providertest.WantCode(t, err, providers.CodeTimeout)
	})
}

// TestListFilesSmallPages pages a folder of files (and its marker) a few
// entries at a time. Sub-folders are left out: gofakes3 (unlike S3) repeats
// a common prefix on the next page when a page ends inside it, because its
// continuation token is the last key it read.
func TestListFilesSmallPages(t *testing.T) {
	_, ts, b := newFakeBackend(t, "eu-central-1", "reports")
	objs := []object{{key: "few/"}}
	var want []string
	for i := range 7 {
		objs = append(objs, object{key: fmt.Sprintf("few/%d.json", i), size: i})
		want = append(want, fmt.Sprintf("/few/%d.json", i))
	}
	seed(t, b, "reports", objs...)
	c := openFiles(t, ts.URL, "")
	for _, size := range []int{1, 2, 3, 7, 8} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			got, pages := listAll(t, c, "/few", size)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			// The marker takes a key of the first page: 8 keys in all.
			if n := (8 + size - 1) / size; pages != n {
				t.Errorf("%d pages, want %d", pages, n)
			}
		})
	}
}
