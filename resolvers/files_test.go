package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// memTree is an in-memory file store: folder path -> sorted entries.
type memTree struct {
	folders map[string][]providers.FileItem
}

// newMemTree builds a tree from file paths ("/a/b.txt"), each 10 bytes.
func newMemTree(files ...string) *memTree {
	t := &memTree{folders: map[string][]providers.FileItem{"/": nil}}
	for _, f := range files {
		dir := "/"
		for _, seg := range strings.Split(strings.Trim(path.Dir(f), "/"), "/") {
			if seg == "" {
				continue
			}
			child := path.Join(dir, seg)
			if _, ok := t.folders[child]; !ok {
				t.folders[child] = nil
				t.folders[dir] = append(t.folders[dir], providers.FileItem{ID: child, Kind: providers.FileKindFolder, Name: seg, Path: child})
			}
			dir = child
		}
		size := int64(10)
		t.folders[dir] = append(t.folders[dir], providers.FileItem{ID: f, Kind: providers.FileKindFile, Name: path.Base(f), Path: f, Size: &size})
	}
	for _, items := range t.folders {
		sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	}
	return t
}

// fakeFiles is a Conn over a memTree that counts calls in flight. With walk
// set it also implements FileWalker (see walkingFiles).
type fakeFiles struct {
	tree     *memTree
	delay    time.Duration
	fail     error
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	calls    atomic.Int32
}

func (f *fakeFiles) Close() error { return nil }

func (f *fakeFiles) enter() func() {
	f.calls.Add(1)
	n := f.inFlight.Add(1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	return func() { f.inFlight.Add(-1) }
}

func (f *fakeFiles) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	defer f.enter()()
	if f.fail != nil {
		return nil, f.fail
	}
	items, ok := f.tree.folders[req.Folder.Path]
	if !ok || req.Folder.ID != "" {
		return nil, providers.Errorf(providers.CodeNotFound, "fake: the folder %s was not found", req.Folder)
	}
	start := 0
	if req.Cursor != "" {
		fmt.Sscan(req.Cursor, &start)
	}
	end := min(start+req.PageSize, len(items))
	page := &providers.FilePage{Path: req.Folder.Path, Items: items[start:end]}
	if end < len(items) {
		page.Cursor = fmt.Sprint(end)
	}
	return page, nil
}

func (f *fakeFiles) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	defer f.enter()()
	out := &providers.StatFilesResult{}
	for _, ref := range req.Items {
		if ref.Path == "/escape" {
			out.Items = append(out.Items, providers.FileStat{Err: providers.Wrap(providers.CodeNotFound, providers.ErrOutsideRoot, "fake: /escape resolves outside the root")})
			continue
		}
		if _, ok := f.tree.folders[ref.Path]; ok {
			out.Items = append(out.Items, providers.FileStat{Item: providers.FileItem{ID: ref.Path, Kind: providers.FileKindFolder, Path: ref.Path}})
			continue
		}
		var found *providers.FileItem
		for _, it := range f.tree.folders[path.Dir(ref.Path)] {
			if it.Path == ref.Path {
				found = &it
			}
		}
		if found == nil {
			out.Items = append(out.Items, providers.FileStat{Err: providers.Errorf(providers.CodeNotFound, "fake: %s was not found", ref)})
			continue
		}
		out.Items = append(out.Items, providers.FileStat{Item: *found})
	}
	return out, nil
}

// walkingFiles adds the optional recursive walk.
type walkingFiles struct{ *fakeFiles }

func (w walkingFiles) WalkFiles(ctx context.Context, req providers.WalkFilesRequest, fn providers.WalkFunc) error {
	defer w.enter()()
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		for _, it := range w.tree.folders[dir] {
			if it.Kind == providers.FileKindFolder {
				if err := walk(it.Path, depth+1); err != nil {
					return err
				}
				continue
			}
			if err := fn(it, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if _, ok := w.tree.folders[req.Folder.Path]; !ok {
		return providers.Errorf(providers.CodeNotFound, "fake: not found")
	}
	return walk(req.Folder.Path, 0)
}

// fakeDriver opens the Conn its test sets, under the name "s3".
type fakeDriver struct {
	mu    sync.Mutex
	conns map[string]providers.Conn // by bucket setting
	conn  providers.Conn            // spec capabilities come from it
}

func (d *fakeDriver) Name() string { return "s3" }

func (d *fakeDriver) Spec() providers.Spec {
	return providers.Spec{Name: "s3", Label: "fake", Category: "files", AuthKinds: []string{"none"},
		Capabilities: providers.CapabilitiesOf(d.conn),
		Fields:       []providers.Field{{Name: "bucket", Type: providers.TypeString}}}
}

func (d *fakeDriver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.conns[cfg.String("bucket")]; ok {
		return c, nil
	}
	return d.conn, nil
}

type filesEnv struct {
	r   *Resolver
	st  *store.Store
	who auth.Identity
	ctx context.Context
}

func newFilesEnv(t *testing.T, drv providers.Driver) *filesEnv {
	t.Helper()
	ctx := context.Background()
	st := testdb.Open(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()}, testdb.NewKey(t))
	u, err := st.EnsureUserToken(ctx, "acme", "ann", "ann@example.com", "admin", "tok-ann")
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Store: st, Providers: providers.NewRegistry(drv), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ProviderTimeout: 10 * time.Second}
	who := auth.Identity{TenantID: u.TenantID, UserID: u.ID, Role: "admin"}
	return &filesEnv{r: r, st: st, who: who, ctx: auth.WithIdentity(ctx, who)}
}

func (e *filesEnv) connection(t *testing.T, name, bucket string) *store.Connection {
	t.Helper()
	now := store.Now()
	c := &store.Connection{ID: store.NewID(), TenantID: e.who.TenantID, Name: name, Slug: NormalizedName(name) + "-" + store.NewID()[:8],
		Provider: "s3", Status: "active", Visibility: "global", Config: store.JSONMap{"bucket": bucket},
		CreatedAt: now, UpdatedAt: now, CreatedBy: e.who.UserID, UpdatedBy: e.who.UserID}
	if err := e.st.InsertConnection(e.ctx, c, nil, false); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListFilesPaging(t *testing.T) {
	var files []string
	for i := range 250 {
		files = append(files, fmt.Sprintf("/big/f%03d.csv", i))
	}
	fake := &fakeFiles{tree: newMemTree(files...)}
	e := newFilesEnv(t, &fakeDriver{conn: fake})
	c := e.connection(t, "Bucket", "b")
	other := e.connection(t, "Other", "b")

	seen := map[string]int{}
	var tok *string
	var firstToken string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := e.r.ListFiles(e.ctx, c.ID, FilesInput{Path: "/big", PageToken: tok, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			seen[it.Path]++
		}
		if page.NextPageToken == nil {
			break
		}
		if firstToken == "" {
			firstToken = *page.NextPageToken
		}
		tok = page.NextPageToken
	}
	if len(seen) != 250 {
		t.Fatalf("saw %d entries, want 250", len(seen))
	}
	for p, n := range seen {
		if n != 1 {
			t.Fatalf("%s listed %d times", p, n)
		}
	}

	tampered := []byte(firstToken)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name string
		id   string
		path string
		tok  string
	}{
		{"another connection", other.ID, "/big", firstToken},
		{"another path", c.ID, "/", firstToken},
		{"tampered", c.ID, "/big", string(tampered)},
		{"garbage", c.ID, "/big", "!!!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.r.ListFiles(e.ctx, tc.id, FilesInput{Path: tc.path, PageToken: &tc.tok, PageSize: 100})
			var re *Error
			if !errors.As(err, &re) || re.Code != CodeValidation || len(re.Fields) != 1 || re.Fields[0].Loc[0] != "pageToken" {
				t.Fatalf("got %v, want a validation error at pageToken", err)
			}
		})
	}
}

func TestListFilesErrors(t *testing.T) {
	fake := &fakeFiles{tree: newMemTree("/a.txt")}
	e := newFilesEnv(t, &fakeDriver{conn: fake})
	c := e.connection(t, "Bucket", "b")
	cases := []struct {
		name string
		in   FilesInput
		want Code
	}{
		{"missing folder", FilesInput{Path: "/nope", PageSize: 10}, CodeNotFound},
		{"page size 0", FilesInput{Path: "/", PageSize: 0}, CodeValidation},
		{"page size 1001", FilesInput{Path: "/", PageSize: 1001}, CodeValidation},
		{"NUL in path", FilesInput{Path: "/a\x00", PageSize: 10}, CodeValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.r.ListFiles(e.ctx, c.ID, tc.in)
			if e, _ := AsError(err); e.Code != tc.want {
				t.Fatalf("got %v (%v), want %s", e.Code, err, tc.want)
			}
		})
	}
	t.Run("disabled", func(t *testing.T) {
		d := e.connection(t, "Off", "b")
		if _, err := e.r.setStatus(e.ctx, d.ID, model.ConnectionStatusDisabled); err != nil {
			t.Fatal(err)
		}
		_, err := e.r.ListFiles(e.ctx, d.ID, FilesInput{Path: "/", PageSize: 10})
		if e, _ := AsError(err); e.Code != CodeDisabled {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("provider without files", func(t *testing.T) {
		e := newFilesEnv(t, &fakeDriver{conn: &fakeConn{}})
		c := e.connection(t, "NoFiles", "b")
		_, err := e.r.ListFiles(e.ctx, c.ID, FilesInput{Path: "/", PageSize: 10})
		if e, _ := AsError(err); e.Code != CodeUnsupported {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("last used is recorded", func(t *testing.T) {
		got, err := e.st.GetConnection(e.ctx, e.who.TenantID, c.ID)
		if err != nil || got.LastUsedAt == nil {
			t.Fatalf("lastUsedAt not recorded: %v %v", got.LastUsedAt, err)
		}
	})
}

func TestValidateSelection(t *testing.T) {
	tree := newMemTree("/top.txt", "/d/a.txt", "/d/b.txt", "/d/e/c.txt", "/d/e/f/g/deep.txt", "/other/x.txt")
	cases := []struct {
		name      string
		items     []string
		limits    Limits
		wantItems int
		wantBytes int
		wantDepth int
		wantCodes []string
	}{
		{"file", []string{"/top.txt"}, Limits{}, 1, 10, 0, nil},
		{"folder recursively", []string{"/d"}, Limits{}, 4, 40, 4, nil},
		{"root", []string{"/"}, Limits{}, 6, 60, 5, nil},
		{"missing and present", []string{"/nope", "/other"}, Limits{}, 1, 10, 1, []string{"not_found"}},
		{"climbing out of the root", []string{"../../etc/passwd"}, Limits{}, 0, 0, 0, []string{"outside_root"}},
		{"a link out of the root", []string{"/escape", "/top.txt"}, Limits{}, 1, 10, 0, []string{"outside_root"}},
		{"too many items", []string{"/d"}, Limits{FilesMaxItems: 2}, 2, 20, 1, []string{"too_many_items"}},
		{"too deep", []string{"/d"}, Limits{FilesMaxDepth: 2}, -1, -1, -1, []string{"too_deep"}},
	}
	for _, walker := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("walker=%t/%s", walker, tc.name), func(t *testing.T) {
				fake := &fakeFiles{tree: tree}
				var conn providers.Conn = fake
				if walker {
					conn = walkingFiles{fake}
				}
				e := newFilesEnv(t, &fakeDriver{conn: conn})
				e.r.Limits = tc.limits
				c := e.connection(t, "Bucket", "b")
				got, err := e.r.ValidateFileSelection(e.ctx, c.ID, tc.items)
				if err != nil {
					t.Fatal(err)
				}
				var codes []string
				for _, v := range got.Violations {
					codes = append(codes, v.Code)
				}
				if !slices.Equal(codes, tc.wantCodes) || got.Valid != (len(tc.wantCodes) == 0) {
					t.Fatalf("violations %v (valid %t), want %v", got.Violations, got.Valid, tc.wantCodes)
				}
				if tc.wantItems >= 0 && (got.TotalItems != tc.wantItems || got.TotalBytes != tc.wantBytes) {
					t.Fatalf("counted %d items / %d bytes, want %d / %d", got.TotalItems, got.TotalBytes, tc.wantItems, tc.wantBytes)
				}
				if tc.wantDepth >= 0 && got.MaxDepth != tc.wantDepth {
					t.Fatalf("max depth %d, want %d", got.MaxDepth, tc.wantDepth)
				}
			})
		}
	}
	t.Run("selection size", func(t *testing.T) {
		e := newFilesEnv(t, &fakeDriver{conn: &fakeFiles{tree: tree}})
		c := e.connection(t, "Bucket", "b")
		for _, items := range [][]string{{}, make([]string, MaxSelectedItems+1)} {
			_, err := e.r.ValidateFileSelection(e.ctx, c.ID, items)
			if e, _ := AsError(err); e.Code != CodeValidation {
				t.Fatalf("%d items: got %v", len(items), err)
			}
		}
	})
}

// TestGraphQLFilesOfManyConnections: a list asking files of 50 connections
// runs their listings concurrently but never more than the request's bound,
// and one failing connection is an error on its own path while the others
// return data.
func TestGraphQLFilesOfManyConnections(t *testing.T) {
	fake := &fakeFiles{tree: newMemTree("/a.txt", "/b.txt"), delay: 20 * time.Millisecond}
	broken := &fakeFiles{tree: newMemTree(), fail: providers.Errorf(providers.CodeAuthFailed, "fake: the credentials were rejected")}
	drv := &fakeDriver{conn: fake, conns: map[string]providers.Conn{"broken": broken}}
	e := newFilesEnv(t, drv)
	e.r.Limits.RequestProviderCalls = 8
	for i := range 49 {
		e.connection(t, fmt.Sprintf("c%02d", i), "ok")
	}
	e.connection(t, "zz-broken", "broken")
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: e.r}))
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(ErrorPresenter(e.r.Log))
	body := `{"query":"{ connections(limit: 50) { connections { name files(path: \"/\") { items { name } } } } }"}`
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(WithLoaders(e.ctx, NewLoaders(e.st)))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	var out struct {
		Data struct {
			Connections struct {
				Connections []*struct {
					Name  string
					Files *struct{ Items []struct{ Name string } }
				}
			}
		}
		Errors []struct {
			Path       []any
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	if m := fake.maxSeen.Load(); m > 8 || m < 2 {
		t.Fatalf("max upstream calls in flight %d, want 2..8", m)
	}
	if len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "auth_failed" || len(out.Errors[0].Path) != 4 {
		t.Fatalf("errors %+v, want one auth_failed on the broken connection's files", out.Errors)
	}
	// files is nullable, so the error nulls only the broken connection's
	// files; the other 49 keep their listings.
	withFiles := 0
	for _, c := range out.Data.Connections.Connections {
		if c != nil && c.Files != nil && len(c.Files.Items) == 2 {
			withFiles++
		}
	}
	if withFiles != 49 {
		t.Fatalf("%d connections listed their files, want 49: %s", withFiles, w.Body)
	}
}
