package sharepoint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	driveID = "b!drive"
	// listSelect is the documented $select of a listing, statSelect that
	// of one item (root tells the drive's root apart).
	listSelect = "id,name,size,file,folder,lastModifiedDateTime,parentReference"
	statSelect = listSelect + ",root"
)

// node is one driveItem of the fake drive.
type node struct {
	id, name string
	dir      bool
	size     int64
	mime     string
	parent   *node
	kids     []*node
}

func (n *node) path() string {
	if n.parent == nil {
		return ""
	}
	return n.parent.path() + "/" + n.name
}

// driveFake answers the Graph drive calls the files capability makes, on top
// of fake (token endpoint, bearer check, GET only). It checks each request's
// path and query as documented and answers like Graph, 400 or 404 otherwise.
type driveFake struct {
	*fake
	t          *testing.T
	root       *node
	byID       map[string]*node
	top        int // the $top every first page must ask for
	driveCalls atomic.Int64
	listCalls  atomic.Int64
	mu         sync.Mutex
	seen       []string // "items/q1/children" and the like, in order
	fail       func(w http.ResponseWriter, r *http.Request, rest string) bool
}

func newDriveFake(t *testing.T) *driveFake {
	d := &driveFake{fake: newFake(t), t: t, byID: map[string]*node{}, top: 3}
	d.root = &node{id: "root-id", name: "root", dir: true}
	d.byID[d.root.id] = d.root
	reports := d.add(d.root, "rep", "Reports", true, 0, "")
	q1 := d.add(reports, "q1", "Q1 #1%", true, 0, "")
	for i := range 7 {
		d.add(q1, fmt.Sprintf("f%d", i), fmt.Sprintf("f%d.pdf", i), false, int64(100+i), "application/pdf")
	}
	d.add(reports, "x", "x.png", false, 42, "") // no mimeType from Graph: from the extension
	d.add(reports, "denied", "denied.pdf", false, 1, "application/pdf")
	secret := d.add(d.root, "sec", "Secret", true, 0, "")
	d.add(secret, "s", "s.pdf", false, 9, "application/pdf")
	d.add(d.root, "rep2", "Reports2", true, 0, "") // shares a prefix with root_path
	d.answer = d.serve
	return d
}

func (d *driveFake) add(parent *node, id, name string, dir bool, size int64, mime string) *node {
	n := &node{id: id, name: name, dir: dir, size: size, mime: mime, parent: parent}
	parent.kids = append(parent.kids, n)
	d.byID[id] = n
	return n
}

// item is n as Graph returns a driveItem, parentReference.path
// percent-encoded as documented.
func (d *driveFake) item(n *node) map[string]any {
	m := map[string]any{"id": n.id, "name": n.name, "size": n.size + 1000*int64(len(n.kids)),
		"lastModifiedDateTime": "2024-05-01T10:00:00Z", "parentReference": map[string]any{"driveId": driveID}}
	if n.parent == nil {
		m["root"] = map[string]any{}
	} else {
		m["parentReference"].(map[string]any)["path"] = "/drives/" + driveID + "/root:" + escapePath(n.parent.path())
	}
	if n.dir {
		m["folder"] = map[string]any{"childCount": len(n.kids)}
	} else {
		f := map[string]any{"hashes": map[string]any{}}
		if n.mime != "" {
			f["mimeType"] = n.mime
		}
		m["file"] = f
	}
	return m
}

func (d *driveFake) find(p string) *node {
	n := d.root
	for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
		if seg == "" {
			continue
		}
		i := slices.IndexFunc(n.kids, func(k *node) bool { return strings.EqualFold(k.name, seg) })
		if i < 0 {
			return nil
		}
		n = n.kids[i]
	}
	return n
}

func (d *driveFake) serve(w http.ResponseWriter, r *http.Request, _ int) bool {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	if r.URL.Path == "/v1.0/sites/contoso.sharepoint.com:/sites/Finance Team:/drive" {
		d.driveCalls.Add(1)
		if d.fail != nil && d.fail(w, r, "site drive") {
			return true
		}
		if q.Get("$select") != "id" {
			graphError(w, 400, "invalidRequest", "select")
			return true
		}
		fmt.Fprintf(w, `{"id":%q}`, driveID)
		return true
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1.0/drives/"+driveID+"/")
	if !ok {
		graphError(w, 404, "itemNotFound", "The resource could not be found.")
		return true
	}
	d.mu.Lock()
	d.seen = append(d.seen, rest)
	d.mu.Unlock()
	if d.fail != nil && d.fail(w, r, rest) {
		return true
	}
	rest, children := strings.CutSuffix(rest, ":/children")
	if children && !strings.HasPrefix(rest, "root:/") {
		graphError(w, 400, "invalidRequest", "colon")
		return true
	}
	if !children && !strings.HasPrefix(rest, "root:") {
		rest, children = strings.CutSuffix(rest, "/children")
	}
	var n *node
	switch {
	case rest == "root":
		n = d.root
	case strings.HasPrefix(rest, "root:/"):
		n = d.find(strings.TrimPrefix(rest, "root:"))
	case strings.HasPrefix(rest, "items/") && !strings.Contains(rest[len("items/"):], "/"):
		n = d.byID[rest[len("items/"):]]
	default:
		graphError(w, 400, "invalidRequest", "Invalid request "+rest)
		return true
	}
	if n == nil {
		graphError(w, 404, "itemNotFound", "The resource could not be found.")
		return true
	}
	if !children {
		if q.Get("$select") != statSelect || q.Has("$top") {
			graphError(w, 400, "invalidRequest", "query "+r.URL.RawQuery)
			return true
		}
		json.NewEncoder(w).Encode(d.item(n))
		return true
	}
	d.listCalls.Add(1)
	top, err := strconv.Atoi(q.Get("$top"))
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	if err != nil || top != d.top || q.Get("$select") != listSelect {
		graphError(w, 400, "invalidRequest", "query "+r.URL.RawQuery)
		return true
	}
	end := min(skip+top, len(n.kids))
	page := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#drives('b%21drive')/items", "value": []any{}}
	for _, k := range n.kids[skip:end] {
		page["value"] = append(page["value"].([]any), d.item(k))
	}
	if end < len(n.kids) {
		q.Set("$skiptoken", strconv.Itoa(end))
		page["@odata.nextLink"] = d.srv.URL + r.URL.EscapedPath() + "?" + q.Encode()
	}
	json.NewEncoder(w).Encode(page)
	return true
}

func (d *driveFake) open(t *testing.T, extra map[string]any) providers.Conn {
	s := map[string]any{"root_path": "/Reports"}
	for k, v := range extra {
		s[k] = v
	}
	return providertest.Open(t, Driver{}, d.settings(s), secrets)
}

func listAll(t *testing.T, c providers.Conn, ref providers.FileRef, size int) (pages []*providers.FilePage, err error) {
	t.Helper()
	cursor := ""
	for range 20 {
		p, err := c.(providers.FileLister).ListFiles(context.Background(), providers.ListFilesRequest{Folder: ref, Cursor: cursor, PageSize: size})
		if err != nil {
			return pages, err
		}
		pages = append(pages, p)
		if cursor = p.Cursor; cursor == "" {
			return pages, nil
		}
	}
	t.Fatal("more than 20 pages")
	return nil, nil
}

func TestListFiles(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		ref      providers.FileRef
		pageSize int
		top      int
		path     string   // FilePage.Path
		items    []string // every Path, in order
		pages    int
		seen     []string // the drive calls, in order
		code     providers.Code
		msg      string
	}{
		{name: "three pages by path", ref: providers.FileRef{Path: "/Q1 #1%"}, pageSize: 3, pages: 3, path: "/Q1 #1%",
			items: []string{"/Q1 #1%/f0.pdf", "/Q1 #1%/f1.pdf", "/Q1 #1%/f2.pdf", "/Q1 #1%/f3.pdf", "/Q1 #1%/f4.pdf", "/Q1 #1%/f5.pdf", "/Q1 #1%/f6.pdf"},
			seen:  []string{"root:/Reports/Q1 #1%:/children", "root:/Reports/Q1 #1%:/children", "root:/Reports/Q1 #1%:/children"}},
		{name: "three pages by id", ref: providers.FileRef{ID: "q1"}, pageSize: 3, pages: 3, path: "/Q1 #1%",
			items: []string{"/Q1 #1%/f0.pdf", "/Q1 #1%/f1.pdf", "/Q1 #1%/f2.pdf", "/Q1 #1%/f3.pdf", "/Q1 #1%/f4.pdf", "/Q1 #1%/f5.pdf", "/Q1 #1%/f6.pdf"},
			seen:  []string{"items/q1", "items/q1/children", "items/q1", "items/q1/children", "items/q1", "items/q1/children"}},
		{name: "root is root_path", ref: providers.FileRef{Path: "/"}, pageSize: 10, top: 10, pages: 1, path: "/",
			items: []string{"/Q1 #1%", "/x.png", "/denied.pdf"}, seen: []string{"root:/Reports:/children"}},
		{name: "root of the drive", settings: map[string]any{"root_path": nil}, ref: providers.FileRef{Path: "/"}, pageSize: 10, top: 10, pages: 1, path: "/",
			items: []string{"/Reports", "/Secret", "/Reports2"}, seen: []string{"root/children"}},
		{name: "root_path by id", ref: providers.FileRef{ID: "rep"}, pageSize: 10, top: 10, pages: 1, path: "/",
			items: []string{"/Q1 #1%", "/x.png", "/denied.pdf"}, seen: []string{"items/rep", "items/rep/children"}},
		{name: "drive root by id without root_path", settings: map[string]any{"root_path": nil}, ref: providers.FileRef{ID: "root-id"}, pageSize: 10, top: 10, pages: 1, path: "/",
			items: []string{"/Reports", "/Secret", "/Reports2"}, seen: []string{"items/root-id", "items/root-id/children"}},
		{name: "default page size", ref: providers.FileRef{Path: "/"}, top: 100, pages: 1, path: "/", items: []string{"/Q1 #1%", "/x.png", "/denied.pdf"}},
		{name: "id outside root_path", ref: providers.FileRef{ID: "sec"}, pageSize: 3, code: providers.CodeNotFound, msg: "below root_path", seen: []string{"items/sec"}},
		{name: "id of a sibling sharing the prefix", ref: providers.FileRef{ID: "rep2"}, pageSize: 3, code: providers.CodeNotFound, seen: []string{"items/rep2"}},
		{name: "id of the drive root above root_path", ref: providers.FileRef{ID: "root-id"}, pageSize: 3, code: providers.CodeNotFound, seen: []string{"items/root-id"}},
		{name: "id climbing", ref: providers.FileRef{ID: ".."}, pageSize: 3, code: providers.CodeNotFound, seen: []string{}},
		{name: "id of a file", ref: providers.FileRef{ID: "x"}, pageSize: 3, code: providers.CodeNotFound, msg: "not a folder"},
		{name: "unknown id", ref: providers.FileRef{ID: "nope"}, pageSize: 3, code: providers.CodeNotFound, msg: "the folder id:nope was not found (HTTP 404, itemNotFound)"},
		{name: "unknown path", ref: providers.FileRef{Path: "/nope"}, pageSize: 3, code: providers.CodeNotFound, msg: "the folder /nope was not found (HTTP 404, itemNotFound)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriveFake(t)
			if tc.top != 0 {
				d.top = tc.top
			}
			c := d.open(t, tc.settings)
			pages, err := listAll(t, c, tc.ref, tc.pageSize)
			if tc.code != "" {
				pe := providertest.WantCode(t, err, tc.code)
				if !strings.Contains(pe.Message, tc.msg) {
					t.Errorf("message %q does not contain %q", pe.Message, tc.msg)
				}
				if d.listCalls.Load() != 0 {
					t.Errorf("children were listed %d times for a refused folder", d.listCalls.Load())
				}
			} else if err != nil {
				t.Fatalf("list: %v", err)
			}
			if tc.seen != nil && !slices.Equal(d.seen, tc.seen) {
				t.Errorf("drive calls = %q, want %q", d.seen, tc.seen)
			}
			if tc.code != "" {
				return
			}
			if len(pages) != tc.pages {
				t.Errorf("pages = %d, want %d", len(pages), tc.pages)
			}
			var got []string
			ids := map[string]bool{}
			for _, p := range pages {
				if p.Path != tc.path {
					t.Errorf("page path = %q, want %q", p.Path, tc.path)
				}
				if len(p.Items) > max(tc.pageSize, tc.top) {
					t.Errorf("page of %d items, asked for %d", len(p.Items), tc.pageSize)
				}
				for _, it := range p.Items {
					got = append(got, it.Path)
					if ids[it.ID] {
						t.Errorf("item %s listed twice", it.ID)
					}
					ids[it.ID] = true
				}
			}
			if !slices.Equal(got, tc.items) {
				t.Errorf("items = %q, want %q", got, tc.items)
			}
			if n := d.driveCalls.Load(); n != 1 {
				t.Errorf("default drive looked up %d times, want once per connection", n)
			}
		})
	}
}

func TestListFilesItems(t *testing.T) {
	d := newDriveFake(t)
	c := d.open(t, nil)
	pages, err := listAll(t, c, providers.FileRef{Path: "/"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	i64 := func(n int64) *int64 { return &n }
	mod := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	want := []providers.FileItem{
		{ID: "id:q1", Kind: providers.FileKindFolder, Name: "Q1 #1%", Path: "/Q1 #1%", ModifiedAt: &mod},
		{ID: "id:x", Kind: providers.FileKindFile, Name: "x.png", Path: "/x.png", Size: i64(42), MimeType: str("image/png"), ModifiedAt: &mod},
		{ID: "id:denied", Kind: providers.FileKindFile, Name: "denied.pdf", Path: "/denied.pdf", Size: i64(1), MimeType: str("application/pdf"), ModifiedAt: &mod},
	}
	got := pages[0].Items
	if len(got) != len(want) {
		t.Fatalf("items = %+v", got)
	}
	for i := range want {
		if !sameItem(got[i], want[i]) {
			t.Errorf("item %d = %s, want %s", i, show(got[i]), show(want[i]))
		}
	}
}

func sameItem(a, b providers.FileItem) bool {
	eq := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.ID == b.ID && a.Kind == b.Kind && a.Name == b.Name && a.Path == b.Path && eq(a.MimeType, b.MimeType) &&
		(a.Size == nil) == (b.Size == nil) && (a.Size == nil || *a.Size == *b.Size) &&
		(a.ModifiedAt == nil) == (b.ModifiedAt == nil) && (a.ModifiedAt == nil || a.ModifiedAt.Equal(*b.ModifiedAt))
}

func show(it providers.FileItem) string {
	s := fmt.Sprintf("{%s %s %q %q", it.ID, it.Kind, it.Name, it.Path)
	if it.Size != nil {
		s += fmt.Sprintf(" size=%d", *it.Size)
	}
	if it.MimeType != nil {
		s += " mime=" + *it.MimeType
	}
	if it.ModifiedAt != nil {
		s += " mod=" + it.ModifiedAt.Format(time.RFC3339)
	}
	return s + "}"
}

func TestListFilesErrors(t *testing.T) {
	cases := []struct {
		name     string
		fail     func(w http.ResponseWriter, r *http.Request, rest string) bool
		deadline time.Duration
		code     providers.Code
		msg      string
	}{
		{name: "403", code: providers.CodePermissionDenied, msg: "Sites.Read.All",
			fail: func(w http.ResponseWriter, r *http.Request, rest string) bool {
				graphError(w, 403, "accessDenied", "Access denied")
				return true
			}},
		{name: "429 beyond the deadline", deadline: time.Second, code: providers.CodeRateLimited,
			fail: func(w http.ResponseWriter, r *http.Request, rest string) bool {
				w.Header().Set("Retry-After", "30")
				graphError(w, 429, "activityLimitReached", "throttled")
				return true
			}},
		{name: "503 beyond the deadline", deadline: time.Second, code: providers.CodeProviderError, msg: "HTTP 503",
			fail: func(w http.ResponseWriter, r *http.Request, rest string) bool {
				w.Header().Set("Retry-After", "30")
				graphError(w, 503, "serviceNotAvailable", "later")
				return true
			}},
		{name: "default drive missing", code: providers.CodeNotFound, msg: "the default drive of the site contoso.sharepoint.com/sites/Finance Team was not found",
			fail: func(w http.ResponseWriter, r *http.Request, rest string) bool {
				if rest != "site drive" {
					return false
				}
				graphError(w, 404, "itemNotFound", "no drive")
				return true
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriveFake(t)
			d.fail = tc.fail
			c := d.open(t, nil)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			_, err := c.(providers.FileLister).ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/"}, PageSize: 3})
			pe := providertest.WantCode(t, err, tc.code)
			if !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Message, tc.msg)
			}
			if tc.code == providers.CodeRateLimited {
				providertest.WantRateLimited(t, pe, 30*time.Second)
			}
			if strings.Contains(pe.Message, accessToken) {
				t.Errorf("message leaks the access token: %s", pe.Message)
			}
		})
	}
}

// TestDefaultDriveRetried: a failed default-drive lookup is not remembered.
func TestDefaultDriveRetried(t *testing.T) {
	d := newDriveFake(t)
	var once atomic.Bool
	d.fail = func(w http.ResponseWriter, r *http.Request, rest string) bool {
		if rest == "site drive" && once.CompareAndSwap(false, true) {
			graphError(w, 403, "accessDenied", "not yet")
			return true
		}
		return false
	}
	c := d.open(t, nil)
	req := providers.ListFilesRequest{Folder: providers.FileRef{Path: "/"}, PageSize: 3}
	_, err := c.(providers.FileLister).ListFiles(context.Background(), req)
	providertest.WantCode(t, err, providers.CodePermissionDenied)
	for range 2 {
		if _, err := c.(providers.FileLister).ListFiles(context.Background(), req); err != nil {
			t.Fatalf("list after a failed lookup: %v", err)
		}
	}
	if n := d.driveCalls.Load(); n != 2 {
		t.Fatalf("drive lookups = %d, want 2 (one failed, one remembered)", n)
	}
}

// TestDriveIDSkipsLookup: with drive_id set the site's drive is never read.
func TestDriveIDSkipsLookup(t *testing.T) {
	d := newDriveFake(t)
	c := d.open(t, map[string]any{"drive_id": driveID})
	if _, err := listAll(t, c, providers.FileRef{Path: "/"}, 3); err != nil {
		t.Fatal(err)
	}
	if n := d.driveCalls.Load(); n != 0 {
		t.Fatalf("drive lookups = %d, want 0", n)
	}
}

// TestNextLinkToAnotherHostRefused: a nextLink pointing away from base_url is
// never requested, so the bearer token does not travel there.
func TestNextLinkToAnotherHostRefused(t *testing.T) {
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer evil.Close()
	d := newDriveFake(t)
	d.fail = func(w http.ResponseWriter, r *http.Request, rest string) bool {
		if !strings.HasSuffix(rest, "/children") {
			return false
		}
		fmt.Fprintf(w, `{"value":[],"@odata.nextLink":%q}`, evil.URL+"/v1.0/drives/"+url.PathEscape(driveID)+"/root/children?$skiptoken=1")
		return true
	}
	c := d.open(t, nil)
	_, err := listAll(t, c, providers.FileRef{Path: "/"}, 3)
	pe := providertest.WantCode(t, err, providers.CodeProviderError)
	if !strings.Contains(pe.Message, "another host") {
		t.Errorf("message = %q", pe.Message)
	}
	if hits.Load() != 0 {
		t.Fatalf("the other host got %d requests", hits.Load())
	}
}

func TestStatFiles(t *testing.T) {
	d := newDriveFake(t)
	d.fail = func(w http.ResponseWriter, r *http.Request, rest string) bool {
		if rest == "items/denied" || rest == "root:/Reports/denied.pdf" {
			graphError(w, 403, "accessDenied", "Access denied")
			return true
		}
		return false
	}
	c := d.open(t, nil)
	refs := []providers.FileRef{
		{Path: "/x.png"}, {ID: "f3"}, {Path: "/missing.pdf"}, {ID: "s"}, {ID: "sec"}, {Path: "/"},
		{ID: "denied"}, {ID: "nope"}, {Path: "/Q1 #1%"},
	}
	type want struct {
		code       providers.Code
		path, kind string
	}
	wants := []want{
		{path: "/x.png", kind: providers.FileKindFile}, {path: "/Q1 #1%/f3.pdf", kind: providers.FileKindFile},
		{code: providers.CodeNotFound}, {code: providers.CodeNotFound}, {code: providers.CodeNotFound},
		{path: "/", kind: providers.FileKindFolder}, {code: providers.CodePermissionDenied}, {code: providers.CodeNotFound},
		{path: "/Q1 #1%", kind: providers.FileKindFolder},
	}
	res, err := c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != len(refs) {
		t.Fatalf("%d stats for %d items", len(res.Items), len(refs))
	}
	for i, w := range wants {
		t.Run(refs[i].String(), func(t *testing.T) {
			st := res.Items[i]
			if w.code != "" {
				if st.Err == nil || st.Err.Code != w.code || st.Item != (providers.FileItem{}) {
					t.Fatalf("stat = %+v, want error %s", st, w.code)
				}
				return
			}
			if st.Err != nil || st.Item.Path != w.path || st.Item.Kind != w.kind {
				t.Fatalf("stat = %s (err %v), want %s %s", show(st.Item), st.Err, w.kind, w.path)
			}
			if w.kind == providers.FileKindFolder && (st.Item.Size != nil || st.Item.MimeType != nil) {
				t.Errorf("folder with a size or mime type: %s", show(st.Item))
			}
		})
	}
}

// TestStatFilesWholeCallErrors: a failure that is not about one item fails
// the call.
func TestStatFilesWholeCallErrors(t *testing.T) {
	d := newDriveFake(t)
	d.fail = func(w http.ResponseWriter, r *http.Request, rest string) bool {
		if rest == "items/f5" {
			w.Header().Set("Retry-After", "30")
			graphError(w, 429, "activityLimitReached", "throttled")
			return true
		}
		return false
	}
	c := d.open(t, nil)
	var refs []providers.FileRef
	for i := range 7 {
		refs = append(refs, providers.FileRef{ID: fmt.Sprintf("f%d", i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.(providers.FileStater).StatFiles(ctx, providers.StatFilesRequest{Items: refs})
	providertest.WantRateLimited(t, err, 30*time.Second)
}
