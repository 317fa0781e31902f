package dropbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// entry is one file or folder of the fake Dropbox.
type entry struct {
	id, name string
	dir      bool
	size     int64
	parent   *entry
	kids     []*entry
}

func (e *entry) display() string {
	if e.parent == nil {
		return ""
	}
	return e.parent.display() + "/" + e.name
}

// filesFake answers files/list_folder, files/list_folder/continue and
// files/get_metadata on top of fake (the token endpoint). It checks each
// call as documented (POST, bearer token, the path-root header, a JSON body
// with exactly the documented fields) and answers like Dropbox: 400 for a
// malformed call, 409 path/not_found, path/not_folder, reset.
type filesFake struct {
	*fake
	root    *entry
	byID    map[string]*entry
	limit   int // the limit list_folder must ask for
	pageCap int // when set, pages are at most this long whatever the limit (Dropbox's limit is a hint)
	mu      sync.Mutex
	cursors map[string]cursorState
	log     []string // "get_metadata id:q1", "list_folder /reports", "continue", in order
	fail    func(w http.ResponseWriter, call string) bool
}

type cursorState struct {
	list []*entry
	next int
	size int
}

func newFilesFake(t *testing.T) *filesFake {
	f := &filesFake{fake: newFake(t), byID: map[string]*entry{}, cursors: map[string]cursorState{}, limit: 3}
	f.root = &entry{dir: true}
	reports := f.add(f.root, "rep", "Reports", true, 0)
	q1 := f.add(reports, "q1", "Q1", true, 0)
	for i := range 7 {
		f.add(q1, fmt.Sprintf("f%d", i), fmt.Sprintf("f%d.pdf", i), false, int64(100+i))
	}
	deep := f.add(q1, "deep", "Deep", true, 0)
	f.add(deep, "d", "d.pdf", false, 5)
	deeper := f.add(deep, "deeper", "Deeper", true, 0)
	f.add(deeper, "e", "e.png", false, 6)
	f.add(reports, "x", "x.png", false, 42)
	secret := f.add(f.root, "sec", "Secret", true, 0)
	f.add(secret, "s", "s.pdf", false, 9)
	f.add(f.root, "rep2", "Reports2", true, 0)
	f.mux.HandleFunc("/2/files/", f.files)
	return f
}

func (f *filesFake) add(parent *entry, id, name string, dir bool, size int64) *entry {
	e := &entry{id: id, name: name, dir: dir, size: size, parent: parent}
	parent.kids = append(parent.kids, e)
	f.byID[id] = e
	return e
}

func (f *filesFake) metadata(e *entry) map[string]any {
	m := map[string]any{".tag": "folder", "name": e.name, "id": "id:" + e.id,
		"path_lower": strings.ToLower(e.display()), "path_display": e.display()}
	if !e.dir {
		m[".tag"] = "file"
		m["size"] = e.size
		m["server_modified"] = "2024-05-01T10:00:00Z"
		m["client_modified"] = "2015-05-12T15:50:38Z"
		m["rev"] = "a1c10ce0dd78"
		m["content_hash"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	}
	return m
}

// resolve finds a path argument: "" (the root), "/a/b" case-insensitively,
// or "id:...".
func (f *filesFake) resolve(p string) *entry {
	if id, ok := strings.CutPrefix(p, "id:"); ok {
		return f.byID[id]
	}
	e := f.root
	for _, seg := range strings.Split(p, "/")[1:] {
		i := slices.IndexFunc(e.kids, func(k *entry) bool { return strings.EqualFold(k.name, seg) })
		if i < 0 {
			return nil
		}
		e = e.kids[i]
	}
	return e
}

func walk(e *entry, out []*entry) []*entry {
	for _, k := range e.kids {
		out = append(out, k)
		out = walk(k, out)
	}
	return out
}

func conflict(w http.ResponseWriter, summary, tag string) {
	dropboxError(w, 409, fmt.Sprintf(`{"error_summary": %q, "error": {".tag": %q}}`, summary, tag))
}

// decode reads the JSON body into v, which must have exactly the documented
// fields, none missing and none unknown.
func decode(w http.ResponseWriter, r *http.Request, v any, fields ...string) bool {
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	var raw map[string]json.RawMessage
	ok := r.Header.Get("Content-Type") == "application/json" && json.Unmarshal(body.Bytes(), &raw) == nil && len(raw) == len(fields)
	for _, k := range fields {
		_, has := raw[k]
		ok = ok && has
	}
	dec := json.NewDecoder(&body)
	dec.DisallowUnknownFields()
	if !ok || dec.Decode(v) != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, "Error in call to API function %q: request body: could not decode input as JSON with the fields %q", r.URL.Path, fields)
		return false
	}
	return true
}

func (f *filesFake) record(s string) {
	f.mu.Lock()
	f.log = append(f.log, s)
	f.mu.Unlock()
}

func (f *filesFake) logged() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *filesFake) files(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodPost:
		w.WriteHeader(405)
		return
	case r.Header.Get("Authorization") != "Bearer "+accessToken:
		dropboxError(w, 401, `{"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}`)
		return
	case r.Header.Get("Dropbox-API-Path-Root") != f.pathRoot:
		dropboxError(w, 422, `{"error_summary": "invalid_root/..", "error": {".tag": "invalid_root"}}`)
		return
	}
	var page []*entry
	size := 0
	switch r.URL.Path {
	case "/2/files/get_metadata":
		var a struct {
			Path string `json:"path"`
		}
		if !decode(w, r, &a, "path") {
			return
		}
		f.record("get_metadata " + a.Path)
		if f.fail != nil && f.fail(w, "get_metadata "+a.Path) {
			return
		}
		if a.Path == "" {
			w.WriteHeader(400)
			fmt.Fprint(w, `Error in call to API function "files/get_metadata": request body: path: The root folder is unsupported.`)
			return
		}
		e := f.resolve(a.Path)
		if e == nil {
			conflict(w, "path/not_found/..", "path")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(f.metadata(e))
		return
	case "/2/files/list_folder":
		var a struct {
			Path                  string `json:"path"`
			Recursive             bool   `json:"recursive"`
			Limit                 int    `json:"limit"`
			IncludeMountedFolders bool   `json:"include_mounted_folders"`
		}
		if !decode(w, r, &a, "path", "recursive", "limit", "include_mounted_folders") {
			return
		}
		f.record("list_folder " + a.Path + map[bool]string{true: " recursive"}[a.Recursive])
		if f.fail != nil && f.fail(w, "list_folder "+a.Path) {
			return
		}
		if (a.Path != "" && !strings.HasPrefix(a.Path, "/") && !strings.HasPrefix(a.Path, "id:")) || strings.HasSuffix(a.Path, "/") ||
			!a.IncludeMountedFolders || a.Limit < 1 || a.Limit > 2000 || (!a.Recursive && a.Limit != f.limit) {
			w.WriteHeader(400)
			fmt.Fprintf(w, `Error in call to API function "files/list_folder": request body: bad arguments %+v`, a)
			return
		}
		e := f.resolve(a.Path)
		switch {
		case e == nil:
			conflict(w, "path/not_found/...", "path")
			return
		case !e.dir:
			conflict(w, "path/not_folder/..", "path")
			return
		case a.Recursive:
			if e.parent != nil {
				page = append(page, e) // a recursive listing starts with the folder itself
			}
			page = walk(e, page)
		default:
			page = slices.Clone(e.kids)
		}
		size = a.Limit
	case "/2/files/list_folder/continue":
		var a struct {
			Cursor string `json:"cursor"`
		}
		if !decode(w, r, &a, "cursor") {
			return
		}
		f.record("continue")
		if f.fail != nil && f.fail(w, "continue") {
			return
		}
		f.mu.Lock()
		st, ok := f.cursors[a.Cursor]
		f.mu.Unlock()
		if !ok {
			conflict(w, "reset/..", "reset")
			return
		}
		page, size = st.list[st.next:], st.size
	default:
		w.WriteHeader(400)
		fmt.Fprint(w, "Unknown API function")
		return
	}
	if f.pageCap > 0 {
		size = min(size, f.pageCap)
	}
	n := min(size, len(page))
	f.mu.Lock()
	cursor := "AAE" + strconv.Itoa(len(f.cursors))
	f.cursors[cursor] = cursorState{list: page, next: n, size: size}
	f.mu.Unlock()
	out := map[string]any{"entries": []any{}, "cursor": cursor, "has_more": n < len(page)}
	for _, e := range page[:n] {
		out["entries"] = append(out["entries"].([]any), f.metadata(e))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *filesFake) open(t *testing.T, extra map[string]any) providers.Conn {
	s := map[string]any{"root_path": "/Reports"}
	for k, v := range extra {
		s[k] = v
	}
	return providertest.Open(t, Driver{}, f.settings(s), secrets)
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
	q1 := []string{"/Q1/f0.pdf", "/Q1/f1.pdf", "/Q1/f2.pdf", "/Q1/f3.pdf", "/Q1/f4.pdf", "/Q1/f5.pdf", "/Q1/f6.pdf", "/Q1/Deep"}
	cases := []struct {
		name     string
		settings map[string]any
		pathRoot string
		ref      providers.FileRef
		pageSize int
		limit    int
		path     string
		items    []string
		pages    int
		log      []string
		code     providers.Code
		msg      string
	}{
		{name: "three pages by path", ref: providers.FileRef{Path: "/Q1"}, pageSize: 3, pages: 3, path: "/Q1", items: q1,
			log: []string{"list_folder /Reports/Q1", "continue", "continue"}},
		{name: "three pages by id", ref: providers.FileRef{ID: "q1"}, pageSize: 3, pages: 3, path: "/Q1", items: q1,
			log: []string{"get_metadata id:q1", "list_folder id:q1", "get_metadata id:q1", "continue", "get_metadata id:q1", "continue"}},
		{name: "root is root_path", ref: providers.FileRef{Path: "/"}, pageSize: 10, limit: 10, pages: 1, path: "/",
			items: []string{"/Q1", "/x.png"}, log: []string{"list_folder /Reports"}},
		{name: "root of the account", settings: map[string]any{"root_path": ""}, ref: providers.FileRef{Path: "/"}, pageSize: 10, limit: 10, pages: 1, path: "/",
			items: []string{"/Reports", "/Secret", "/Reports2"}, log: []string{"list_folder "}},
		{name: "team space", settings: map[string]any{"path_root": "7"}, pathRoot: `{".tag":"root","root":"7"}`, ref: providers.FileRef{Path: "/Q1"},
			pageSize: 3, pages: 3, path: "/Q1", items: q1},
		{name: "root_path by id", ref: providers.FileRef{ID: "rep"}, pageSize: 10, limit: 10, pages: 1, path: "/", items: []string{"/Q1", "/x.png"}},
		{name: "default page size", ref: providers.FileRef{Path: "/"}, limit: 100, pages: 1, path: "/", items: []string{"/Q1", "/x.png"}},
		{name: "id outside root_path", ref: providers.FileRef{ID: "sec"}, pageSize: 3, code: providers.CodeNotFound, msg: "below root_path", log: []string{"get_metadata id:sec"}},
		{name: "id of a sibling sharing the prefix", ref: providers.FileRef{ID: "rep2"}, pageSize: 3, code: providers.CodeNotFound, log: []string{"get_metadata id:rep2"}},
		{name: "id with a relative path", ref: providers.FileRef{ID: "rep/../../Secret"}, pageSize: 3, code: providers.CodeNotFound, log: []string{}},
		{name: "id of a file", ref: providers.FileRef{ID: "x"}, pageSize: 3, code: providers.CodeNotFound, msg: "not a folder"},
		{name: "path of a file", ref: providers.FileRef{Path: "/x.png"}, pageSize: 3, code: providers.CodeNotFound, msg: "the folder /x.png is not a folder (path/not_folder)"},
		{name: "unknown id", ref: providers.FileRef{ID: "nope"}, pageSize: 3, code: providers.CodeNotFound, msg: "the folder id:nope was not found (path/not_found)"},
		{name: "unknown path", ref: providers.FileRef{Path: "/nope"}, pageSize: 3, code: providers.CodeNotFound, msg: "the folder /nope was not found (path/not_found)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilesFake(t)
			f.pathRoot = tc.pathRoot
			if tc.limit != 0 {
				f.limit = tc.limit
			}
			c := f.open(t, tc.settings)
			pages, err := listAll(t, c, tc.ref, tc.pageSize)
			log := f.logged()
			if tc.log != nil && !slices.Equal(log, tc.log) {
				t.Errorf("calls = %q, want %q", log, tc.log)
			}
			if tc.code != "" {
				pe := providertest.WantCode(t, err, tc.code)
				if !strings.Contains(pe.Message, tc.msg) {
					t.Errorf("message %q does not contain %q", pe.Message, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("list: %v", err)
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
		})
	}
}

func TestListFilesItems(t *testing.T) {
	f := newFilesFake(t)
	f.limit = 10
	c := f.open(t, nil)
	pages, err := listAll(t, c, providers.FileRef{Path: "/"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := pages[0].Items
	if len(got) != 2 {
		t.Fatalf("items = %+v", got)
	}
	folder, file := got[0], got[1]
	if folder != (providers.FileItem{ID: "id:q1", Kind: providers.FileKindFolder, Name: "Q1", Path: "/Q1"}) {
		t.Errorf("folder = %+v", folder)
	}
	mod := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	if file.ID != "id:x" || file.Kind != providers.FileKindFile || file.Name != "x.png" || file.Path != "/x.png" ||
		file.Size == nil || *file.Size != 42 || file.MimeType == nil || *file.MimeType != "image/png" ||
		file.ModifiedAt == nil || !file.ModifiedAt.Equal(mod) {
		t.Errorf("file = %+v", file)
	}
	// The item's id reaches it again.
	ref, err := providers.ParseFileRef(folder.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.(providers.FileLister).ListFiles(context.Background(), providers.ListFilesRequest{Folder: ref, PageSize: 10}); err != nil || p.Path != "/Q1" {
		t.Fatalf("list %s: %+v, %v", folder.ID, p, err)
	}
}

func TestListFilesErrors(t *testing.T) {
	cases := []struct {
		name     string
		fail     func(w http.ResponseWriter, call string) bool
		deadline time.Duration
		code     providers.Code
		msg      string
	}{
		{name: "403", code: providers.CodePermissionDenied,
			fail: func(w http.ResponseWriter, call string) bool {
				dropboxError(w, 403, `{"error_summary": "no_account/..", "error": {".tag": "no_account"}}`)
				return true
			}},
		{name: "429 beyond the deadline", deadline: time.Second, code: providers.CodeRateLimited,
			fail: func(w http.ResponseWriter, call string) bool {
				w.Header().Set("Retry-After", "30")
				dropboxError(w, 429, `{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 30}}`)
				return true
			}},
		{name: "cursor reset", code: providers.CodeProviderError, msg: "reset",
			fail: func(w http.ResponseWriter, call string) bool {
				if call != "continue" {
					return false
				}
				conflict(w, "reset/..", "reset")
				return true
			}},
		{name: "token leaked in a 400", code: providers.CodeProviderError, msg: "[REDACTED]",
			fail: func(w http.ResponseWriter, call string) bool {
				w.WriteHeader(400)
				fmt.Fprintf(w, "Error in call to API function: token %s", accessToken)
				return true
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilesFake(t)
			f.fail = tc.fail
			c := f.open(t, nil)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			l := c.(providers.FileLister)
			p, err := l.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Q1"}, PageSize: 3})
			if err == nil {
				_, err = l.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Q1"}, PageSize: 3, Cursor: p.Cursor})
			}
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

func TestStatFiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]any
		refs     []providers.FileRef
		want     []string // "kind path" or an error code
	}{
		{name: "below root_path",
			refs: []providers.FileRef{{Path: "/x.png"}, {ID: "f3"}, {Path: "/missing.pdf"}, {ID: "s"}, {ID: "sec"}, {Path: "/"},
				{ID: "denied"}, {ID: "nope"}, {Path: "/Q1/Deep"}, {ID: "rep"}, {ID: "rep2"}},
			want: []string{"file /x.png", "file /Q1/f3.pdf", "not_found", "not_found", "not_found", "folder /",
				"permission_denied", "not_found", "folder /Q1/Deep", "folder /", "not_found"}},
		{name: "account root", settings: map[string]any{"root_path": ""},
			refs: []providers.FileRef{{Path: "/"}, {ID: "s"}, {Path: "/Secret/s.pdf"}},
			want: []string{"folder /", "file /Secret/s.pdf", "file /Secret/s.pdf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilesFake(t)
			f.fail = func(w http.ResponseWriter, call string) bool {
				if call == "get_metadata id:denied" {
					conflict(w, "path/restricted_content/..", "path")
					return true
				}
				return false
			}
			c := f.open(t, tc.settings)
			res, err := c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: tc.refs})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) != len(tc.refs) {
				t.Fatalf("%d stats for %d items", len(res.Items), len(tc.refs))
			}
			for i, st := range res.Items {
				got := ""
				if st.Err != nil {
					got = string(st.Err.Code)
					if st.Item != (providers.FileItem{}) {
						t.Errorf("%s: an item beside an error: %+v", tc.refs[i], st.Item)
					}
				} else {
					got = st.Item.Kind + " " + st.Item.Path
					if st.Item.Kind == providers.FileKindFolder && (st.Item.Size != nil || st.Item.MimeType != nil) {
						t.Errorf("%s: folder with a size or mime type: %+v", tc.refs[i], st.Item)
					}
				}
				if got != tc.want[i] {
					t.Errorf("%s: %s, want %s", tc.refs[i], got, tc.want[i])
				}
			}
		})
	}
}

// TestStatFilesWholeCallErrors: a failure that is not about one item fails
// the call.
func TestStatFilesWholeCallErrors(t *testing.T) {
	f := newFilesFake(t)
	f.fail = func(w http.ResponseWriter, call string) bool {
		if call == "get_metadata id:f5" {
			w.Header().Set("Retry-After", "30")
			dropboxError(w, 429, `{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}}}`)
			return true
		}
		return false
	}
	c := f.open(t, nil)
	var refs []providers.FileRef
	for i := range 7 {
		refs = append(refs, providers.FileRef{ID: fmt.Sprintf("f%d", i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.(providers.FileStater).StatFiles(ctx, providers.StatFilesRequest{Items: refs})
	providertest.WantRateLimited(t, err, 30*time.Second)
}

// TestStatFilesConcurrency: never more than eight get_metadata calls at once.
func TestStatFilesConcurrency(t *testing.T) {
	f := newFilesFake(t)
	var now, peak atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	f.fail = func(w http.ResponseWriter, call string) bool {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n == 8 {
			once.Do(func() { close(release) }) // eight at once: let them all go
		}
		select {
		case <-release:
		case <-time.After(5 * time.Second): // fewer than eight ever ran at once
		}
		return false
	}
	c := f.open(t, nil)
	var refs []providers.FileRef
	for i := range 7 {
		refs = append(refs, providers.FileRef{ID: fmt.Sprintf("f%d", i)}, providers.FileRef{Path: fmt.Sprintf("/Q1/f%d.pdf", i)})
	}
	res, err := c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: refs})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range res.Items {
		if st.Err != nil || st.Item.Path != fmt.Sprintf("/Q1/f%d.pdf", i/2) {
			t.Errorf("%s: %+v", refs[i], st)
		}
	}
	if p := peak.Load(); p != 8 {
		t.Fatalf("peak concurrency = %d, want 8", p)
	}
}

func TestWalkFiles(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		ref      providers.FileRef
		want     []string // "depth path"
		log      []string
		code     providers.Code
	}{
		{name: "root_path", ref: providers.FileRef{Path: "/"},
			want: []string{"2 /Q1/f0.pdf", "2 /Q1/f1.pdf", "2 /Q1/f2.pdf", "2 /Q1/f3.pdf", "2 /Q1/f4.pdf", "2 /Q1/f5.pdf", "2 /Q1/f6.pdf",
				"3 /Q1/Deep/d.pdf", "4 /Q1/Deep/Deeper/e.png", "1 /x.png"},
			log: []string{"list_folder /Reports recursive", "continue", "continue", "continue"}},
		{name: "folder by path", ref: providers.FileRef{Path: "/Q1/Deep"}, want: []string{"1 /Q1/Deep/d.pdf", "2 /Q1/Deep/Deeper/e.png"},
			log: []string{"list_folder /Reports/Q1/Deep recursive"}},
		{name: "folder by id", ref: providers.FileRef{ID: "deep"}, want: []string{"1 /Q1/Deep/d.pdf", "2 /Q1/Deep/Deeper/e.png"},
			log: []string{"get_metadata id:deep", "list_folder id:deep recursive"}},
		{name: "account root", settings: map[string]any{"root_path": ""}, ref: providers.FileRef{Path: "/"},
			want: []string{"3 /Reports/Q1/f0.pdf", "3 /Reports/Q1/f1.pdf", "3 /Reports/Q1/f2.pdf", "3 /Reports/Q1/f3.pdf", "3 /Reports/Q1/f4.pdf",
				"3 /Reports/Q1/f5.pdf", "3 /Reports/Q1/f6.pdf", "4 /Reports/Q1/Deep/d.pdf", "5 /Reports/Q1/Deep/Deeper/e.png", "2 /Reports/x.png", "2 /Secret/s.pdf"}},
		{name: "id outside root_path", ref: providers.FileRef{ID: "sec"}, code: providers.CodeNotFound, log: []string{"get_metadata id:sec"}},
		{name: "unknown path", ref: providers.FileRef{Path: "/nope"}, code: providers.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilesFake(t)
			f.pageCap = 4
			c := f.open(t, tc.settings)
			var got []string
			err := c.(providers.FileWalker).WalkFiles(context.Background(), providers.WalkFilesRequest{Folder: tc.ref},
				func(it providers.FileItem, depth int) error {
					if it.Kind != providers.FileKindFile || it.ID == "" || it.Size == nil {
						t.Errorf("walked %+v", it)
					}
					got = append(got, fmt.Sprintf("%d %s", depth, it.Path))
					return nil
				})
			if tc.log != nil && !slices.Equal(f.logged(), tc.log) {
				t.Errorf("calls = %q, want %q", f.logged(), tc.log)
			}
			if tc.code != "" {
				providertest.WantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("walked %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWalkFilesStreams: files reach fn page by page, before the next page is
// asked for, and fn's error stops the walk unchanged.
func TestWalkFilesStreams(t *testing.T) {
	f := newFilesFake(t)
	f.pageCap = 4
	c := f.open(t, nil)
	stop := errors.New("enough")
	var calls int
	err := c.(providers.FileWalker).WalkFiles(context.Background(), providers.WalkFilesRequest{Folder: providers.FileRef{Path: "/"}},
		func(it providers.FileItem, depth int) error {
			calls++
			f.record("fn " + it.Path)
			if calls == 5 {
				return stop
			}
			return nil
		})
	if err != stop {
		t.Fatalf("walk = %v, want fn's error unchanged", err)
	}
	// The first page is /Reports itself, /Q1, f0 and f1.
	want := []string{"list_folder /Reports recursive", "fn /Q1/f0.pdf", "fn /Q1/f1.pdf",
		"continue", "fn /Q1/f2.pdf", "fn /Q1/f3.pdf", "fn /Q1/f4.pdf"}
	if got := f.logged(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}
