package sftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

var mtime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// tree builds, in a temporary folder:
//
//	root/                 base_path
//	  a.json  b.html  noext  unknown.zzzq
//	  nested/deep/c.pdf
//	  etc/inside.txt      ("/etc" below the root)
//	  %2e%2e/lit.txt      (a literal name, not "..")
//	  in      -> nested                  inside: followed
//	  in-abs  -> <tmp>/root/nested/deep  inside, absolute: followed
//	  infile  -> nested/deep/c.pdf       inside: followed
//	  hop     -> ../root/nested          out and back in: followed
//	  out     -> ../outside              outside: left out
//	  out-abs -> <tmp>/outside           outside, absolute: left out
//	  outfile -> ../outside/secret.txt   outside: left out
//	  sibling -> ../root2                shares the root's prefix: left out
//	  chain   -> out                     a link to a link out: left out
//	  dangling -> nowhere                left out
//	  loop    -> loop                    left out
//	outside/secret.txt
//	root2/x.txt
//	rootlink -> root                     base_path through a symlink
//
// and returns the temporary folder.
func tree(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	files := map[string]string{
		"root/a.json": `{"a":1}`, "root/b.html": "<p>", "root/noext": "x", "root/unknown.zzzq": "?",
		"root/nested/deep/c.pdf": "%PDF-1.7", "root/etc/inside.txt": "in", "root/%2e%2e/lit.txt": "lit",
		"outside/secret.txt": "secret", "root2/x.txt": "x",
	}
	for name, body := range files {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"root/in": "nested", "root/in-abs": filepath.Join(tmp, "root/nested/deep"), "root/infile": "nested/deep/c.pdf",
		"root/hop": "../root/nested", "root/out": "../outside", "root/out-abs": filepath.Join(tmp, "outside"),
		"root/outfile": "../outside/secret.txt", "root/sibling": "../root2", "root/chain": "out",
		"root/dangling": "nowhere", "root/loop": "loop", "rootlink": "root",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(tmp, name)); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// rootNames is what "/" lists: no link that leads outside, dangles or loops.
var rootNames = []string{"%2e%2e", "a.json", "b.html", "etc", "hop", "in", "in-abs", "infile", "nested", "noext", "unknown.zzzq"}

// openFiles opens a connection to s with base_path set.
func openFiles(t *testing.T, s *server, base string) providers.Conn {
	t.Helper()
	return providertest.Open(t, Driver{}, s.settings("base_path", base), map[string]string{"password": password})
}

func list(t *testing.T, c providers.Conn, ref providers.FileRef, cursor string, size int) (*providers.FilePage, *providers.Error) {
	t.Helper()
	page, err := c.(providers.FileLister).ListFiles(context.Background(), providers.ListFilesRequest{Folder: ref, Cursor: cursor, PageSize: size})
	if err == nil {
		return page, nil
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("list returned %T %v", err, err)
	}
	return nil, pe
}

func names(items []providers.FileItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// noOutside fails the test when anything outside the root shows.
func noOutside(t *testing.T, items []providers.FileItem) {
	t.Helper()
	for _, it := range items {
		for _, bad := range []string{"secret", "outside", "root2", "x.txt", "..", "out", "sibling", "chain", "dangling", "loop"} {
			if (it.Name == bad || strings.Contains(it.Path, bad)) && !strings.Contains(it.Path, "%2e%2e") {
				t.Errorf("item %+v shows something outside the root (%s)", it, bad)
			}
		}
	}
}

func TestListFiles(t *testing.T) {
	tmp := tree(t)
	s := startOSServer(t)
	root := filepath.Join(tmp, "root")
	tests := []struct {
		name   string
		base   string // base_path; root when empty
		folder providers.FileRef
		want   []string
		code   providers.Code // "" means success
		msg    string
	}{
		{name: "root", folder: providers.FileRef{Path: "/"}, want: rootNames},
		{name: "empty path is the root", folder: providers.FileRef{Path: ""}, want: rootNames},
		{name: "dot dot is the root", folder: providers.FileRef{Path: ".."}, want: rootNames},
		{name: "climbing is the root", folder: providers.FileRef{Path: "/../../.."}, want: rootNames},
		{name: "nested", folder: providers.FileRef{Path: "/nested"}, want: []string{"deep"}},
		{name: "nested twice", folder: providers.FileRef{Path: "/nested/deep"}, want: []string{"c.pdf"}},
		{name: "symlink inside is followed", folder: providers.FileRef{Path: "/in"}, want: []string{"deep"}},
		{name: "through a symlink inside", folder: providers.FileRef{Path: "/in/deep"}, want: []string{"c.pdf"}},
		{name: "absolute symlink inside", folder: providers.FileRef{Path: "/in-abs"}, want: []string{"c.pdf"}},
		{name: "symlink out and back in", folder: providers.FileRef{Path: "/hop"}, want: []string{"deep"}},
		{name: "/etc is below the root", folder: providers.FileRef{Path: "/etc"}, want: []string{"inside.txt"}},
		{name: "%2e%2e is a literal name", folder: providers.FileRef{Path: "/%2e%2e"}, want: []string{"lit.txt"}},
		{name: "uncleaned dot dot stays inside", folder: providers.FileRef{Path: "../outside"}, code: providers.CodeNotFound},
		{name: "uncleaned dot dot to a sibling", folder: providers.FileRef{Path: "nested/../../root2"}, code: providers.CodeNotFound},
		{name: "symlink out", folder: providers.FileRef{Path: "/out"}, code: providers.CodeNotFound, msg: `"/out" does not exist`},
		{name: "absolute symlink out", folder: providers.FileRef{Path: "/out-abs"}, code: providers.CodeNotFound},
		{name: "below a symlink out", folder: providers.FileRef{Path: "/out/secret.txt"}, code: providers.CodeNotFound},
		{name: "symlink to a sibling with the root's prefix", folder: providers.FileRef{Path: "/sibling"}, code: providers.CodeNotFound},
		{name: "chain of symlinks out", folder: providers.FileRef{Path: "/chain"}, code: providers.CodeNotFound},
		{name: "dangling symlink", folder: providers.FileRef{Path: "/dangling"}, code: providers.CodeNotFound},
		{name: "symlink loop", folder: providers.FileRef{Path: "/loop"}, code: providers.CodeNotFound, msg: "too many levels"},
		{name: "missing", folder: providers.FileRef{Path: "/missing"}, code: providers.CodeNotFound, msg: `"/missing" does not exist`},
		{name: "a file", folder: providers.FileRef{Path: "/a.json"}, code: providers.CodeNotFound, msg: `"/a.json" is a file, not a folder`},
		{name: "below a file", folder: providers.FileRef{Path: "/a.json/x"}, code: providers.CodeNotFound},
		{name: "an id", folder: providers.FileRef{ID: "123"}, code: providers.CodeNotFound, msg: "no ids"},
		{name: "base_path through a symlink", base: filepath.Join(tmp, "rootlink"), folder: providers.FileRef{Path: "/"}, want: rootNames},
		{name: "base_path through a symlink, link inside", base: filepath.Join(tmp, "rootlink"), folder: providers.FileRef{Path: "/in"}, want: []string{"deep"}},
		{name: "base_path through a symlink, link out", base: filepath.Join(tmp, "rootlink"), folder: providers.FileRef{Path: "/out"}, code: providers.CodeNotFound},
		{name: "base_path with a trailing slash", base: root + "/", folder: providers.FileRef{Path: "/nested"}, want: []string{"deep"}},
		{name: "missing base_path", base: filepath.Join(tmp, "nope"), folder: providers.FileRef{Path: "/"}, code: providers.CodeNotFound, msg: "base_path"},
		{name: "base_path is a file", base: filepath.Join(tmp, "root2/x.txt"), folder: providers.FileRef{Path: "/"}, code: providers.CodeNotFound, msg: "not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = root
			}
			c := openFiles(t, s, base)
			page, perr := list(t, c, tt.folder, "", 1000)
			if tt.code != "" {
				if perr == nil {
					t.Fatalf("listed %v, want %s", names(page.Items), tt.code)
				}
				if perr.Code != tt.code || !strings.Contains(perr.Message, tt.msg) {
					t.Fatalf("got %s %q, want %s containing %q", perr.Code, perr.Message, tt.code, tt.msg)
				}
				if tt.base == "" && strings.Contains(perr.Message, tmp) {
					t.Errorf("message names the server's folders: %q", perr.Message)
				}
				return
			}
			if perr != nil {
				t.Fatalf("list: %s: %s", perr.Code, perr.Message)
			}
			if got := names(page.Items); !slices.Equal(got, tt.want) {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
			if page.Cursor != "" {
				t.Errorf("cursor = %q on the only page", page.Cursor)
			}
			noOutside(t, page.Items)
		})
	}
}

func TestListFilesItems(t *testing.T) {
	tmp := tree(t)
	s := startOSServer(t)
	c := openFiles(t, s, filepath.Join(tmp, "root"))
	page, perr := list(t, c, providers.FileRef{Path: "/"}, "", 100)
	if perr != nil {
		t.Fatalf("list: %s", perr.Message)
	}
	if page.Path != "/" {
		t.Errorf("page path = %q", page.Path)
	}
	got := map[string]providers.FileItem{}
	for _, it := range page.Items {
		got[it.Name] = it
	}
	str := func(s string) *string { return &s }
	size := func(n int64) *int64 { return &n }
	tests := []struct {
		name string
		kind string
		size *int64
		mime *string
		// mtime is false for entries whose time the test did not set.
		mtime bool
	}{
		{name: "a.json", kind: providers.FileKindFile, size: size(7), mime: str("application/json"), mtime: true},
		{name: "b.html", kind: providers.FileKindFile, size: size(3), mime: str("text/html"), mtime: true},
		{name: "noext", kind: providers.FileKindFile, size: size(1), mtime: true},
		{name: "unknown.zzzq", kind: providers.FileKindFile, size: size(1), mtime: true},
		{name: "nested", kind: providers.FileKindFolder},
		{name: "in", kind: providers.FileKindFolder},
		{name: "infile", kind: providers.FileKindFile, size: size(8), mtime: true}, // the target's size and time
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, ok := got[tt.name]
			if !ok {
				t.Fatalf("%s not listed", tt.name)
			}
			if it.Kind != tt.kind || it.Path != "/"+tt.name || it.ID != it.Path {
				t.Errorf("item = %+v", it)
			}
			if (it.Size == nil) != (tt.size == nil) || (it.Size != nil && *it.Size != *tt.size) {
				t.Errorf("size = %v, want %v", deref(it.Size), deref(tt.size))
			}
			if (it.MimeType == nil) != (tt.mime == nil) || (it.MimeType != nil && *it.MimeType != *tt.mime) {
				t.Errorf("mime = %v, want %v", deref(it.MimeType), deref(tt.mime))
			}
			if it.ModifiedAt == nil {
				t.Fatalf("no modifiedAt")
			}
			if tt.mtime && !it.ModifiedAt.Equal(mtime) {
				t.Errorf("modifiedAt = %v, want %v", it.ModifiedAt, mtime)
			}
		})
	}
	page, perr = list(t, c, providers.FileRef{Path: "/nested/deep"}, "", 100)
	if perr != nil {
		t.Fatalf("list: %s", perr.Message)
	}
	if len(page.Items) != 1 || page.Items[0].Path != "/nested/deep/c.pdf" || page.Path != "/nested/deep" {
		t.Errorf("page = %+v", page)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestStatFiles(t *testing.T) {
	tmp := tree(t)
	s := startOSServer(t)
	c := openFiles(t, s, filepath.Join(tmp, "root"))
	tests := []struct {
		ref  providers.FileRef
		kind string         // want an item of this kind
		code providers.Code // or this error
		size int64
	}{
		{ref: providers.FileRef{Path: "/"}, kind: providers.FileKindFolder},
		{ref: providers.FileRef{Path: "/a.json"}, kind: providers.FileKindFile, size: 7},
		{ref: providers.FileRef{Path: "/nested"}, kind: providers.FileKindFolder},
		{ref: providers.FileRef{Path: "/nested/deep/c.pdf"}, kind: providers.FileKindFile, size: 8},
		{ref: providers.FileRef{Path: "/infile"}, kind: providers.FileKindFile, size: 8},
		{ref: providers.FileRef{Path: "/in"}, kind: providers.FileKindFolder},
		{ref: providers.FileRef{Path: "/in/deep/c.pdf"}, kind: providers.FileKindFile, size: 8},
		{ref: providers.FileRef{Path: "/etc"}, kind: providers.FileKindFolder},
		{ref: providers.FileRef{Path: "/etc/passwd"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/%2e%2e/lit.txt"}, kind: providers.FileKindFile, size: 3},
		{ref: providers.FileRef{Path: "/%2e%2e/../../outside/secret.txt"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/out"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/out/secret.txt"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/outfile"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/out-abs"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/sibling/x.txt"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/chain"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/dangling"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/loop"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/missing"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "/a.json/x"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{Path: "../outside/secret.txt"}, code: providers.CodeNotFound},
		{ref: providers.FileRef{ID: "1"}, code: providers.CodeNotFound},
	}
	req := providers.StatFilesRequest{}
	for _, tt := range tests {
		req.Items = append(req.Items, tt.ref)
	}
	res, err := c.(providers.FileStater).StatFiles(context.Background(), req)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if len(res.Items) != len(tests) {
		t.Fatalf("%d results for %d items", len(res.Items), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			st := res.Items[i]
			if tt.code != "" {
				if st.Err == nil || st.Err.Code != tt.code {
					t.Fatalf("got %+v, want %s", st, tt.code)
				}
				if st.Item != (providers.FileItem{}) {
					t.Errorf("item set with an error: %+v", st.Item)
				}
				if strings.Contains(st.Err.Message, tmp) {
					t.Errorf("message names the server's folders: %q", st.Err.Message)
				}
				return
			}
			if st.Err != nil {
				t.Fatalf("error %s: %s", st.Err.Code, st.Err.Message)
			}
			want, _ := providers.CleanPath(tt.ref.Path)
			if st.Item.Kind != tt.kind || st.Item.Path != want || st.Item.ID != want {
				t.Errorf("item = %+v", st.Item)
			}
			if tt.kind == providers.FileKindFile && (st.Item.Size == nil || *st.Item.Size != tt.size) {
				t.Errorf("size = %v, want %d", deref(st.Item.Size), tt.size)
			}
		})
	}
}

// The in-memory server refuses to describe /secret, as a server does for a
// folder the user may not read.
func TestPermissionDenied(t *testing.T) {
	s := startServer(t)
	c := openFiles(t, s, "/")
	_, perr := list(t, c, providers.FileRef{Path: "/secret"}, "", 10)
	if perr == nil || perr.Code != providers.CodePermissionDenied || !strings.Contains(perr.Message, `user "alice" may not read "/secret"`) {
		t.Fatalf("list /secret: %+v", perr)
	}
	res, err := c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{{Path: "/secret"}, {Path: "/data"}, {Path: "/nope"}}})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Items[0].Err; e == nil || e.Code != providers.CodePermissionDenied {
		t.Errorf("/secret: %+v", res.Items[0])
	}
	if res.Items[1].Err != nil || res.Items[1].Item.Kind != providers.FileKindFolder {
		t.Errorf("/data: %+v", res.Items[1])
	}
	if e := res.Items[2].Err; e == nil || e.Code != providers.CodeNotFound {
		t.Errorf("/nope: %+v", res.Items[2])
	}
	page, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10)
	if perr != nil {
		t.Fatal(perr.Message)
	}
	if got := names(page.Items); !slices.Equal(got, []string{"data", "secret"}) {
		t.Errorf("/ lists %q", got)
	}
	// A relative base_path is below the login folder ("/" here).
	c = openFiles(t, s, "data")
	if page, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10); perr != nil || len(page.Items) != 0 {
		t.Errorf("base_path data: %+v %+v", page, perr)
	}
	if _, perr := list(t, c, providers.FileRef{Path: "/secret"}, "", 10); perr == nil || perr.Code != providers.CodeNotFound {
		t.Errorf("base_path data, /secret: %+v", perr)
	}
	c = openFiles(t, s, "/secret")
	if _, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10); perr == nil || perr.Code != providers.CodePermissionDenied || !strings.Contains(perr.Message, "base_path") {
		t.Errorf("base_path /secret: %+v", perr)
	}
}

// pages lists every page of folder and returns the items in order.
func pages(t *testing.T, c providers.Conn, folder string, size int) (items []providers.FileItem, sizes []int) {
	t.Helper()
	cursor := ""
	for n := 0; ; n++ {
		if n > 10000 {
			t.Fatal("paging does not end")
		}
		page, perr := list(t, c, providers.FileRef{Path: folder}, cursor, size)
		if perr != nil {
			t.Fatalf("page %d: %s: %s", n, perr.Code, perr.Message)
		}
		items = append(items, page.Items...)
		sizes = append(sizes, len(page.Items))
		if page.Cursor == "" {
			return items, sizes
		}
		cursor = page.Cursor
	}
}

func TestPaging(t *testing.T) {
	tmp := t.TempDir()
	big := filepath.Join(tmp, "root", "big")
	mixed := filepath.Join(tmp, "root", "mixed")
	for _, d := range []string{big, mixed, filepath.Join(tmp, "outside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := range 2500 {
		// Names whose byte order differs from their creation order and
		// from a numeric order.
		name := fmt.Sprintf("%d-%c.txt", (i*7919)%2500, 'a'+rune(i%26))
		if err := os.WriteFile(filepath.Join(big, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	slices.Sort(want)
	// mixed: 30 entries, every third a symlink out of the root.
	var wantMixed []string
	for i := range 30 {
		name := fmt.Sprintf("e%02d", i)
		p := filepath.Join(mixed, name)
		var err error
		if i%3 == 0 {
			err = os.Symlink("../../outside", p)
		} else {
			err = os.WriteFile(p, nil, 0o644)
			wantMixed = append(wantMixed, name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s := startOSServer(t)
	c := openFiles(t, s, filepath.Join(tmp, "root"))

	tests := []struct {
		name   string
		folder string
		size   int
		want   []string
		sizes  []int
	}{
		{name: "2500 entries by 1000", folder: "/big", size: 1000, want: want, sizes: []int{1000, 1000, 500}},
		{name: "2500 entries by 2500 is capped at 1000", folder: "/big", size: 2500, want: want, sizes: []int{1000, 1000, 500}},
		{name: "2500 entries by 999", folder: "/big", size: 999, want: want, sizes: []int{999, 999, 502}},
		{name: "exactly one full page", folder: "/big", size: 1000, want: want, sizes: []int{1000, 1000, 500}},
		{name: "links out are skipped, pages stay full", folder: "/mixed", size: 4, want: wantMixed, sizes: []int{4, 4, 4, 4, 4}},
		{name: "one by one", folder: "/mixed", size: 1, want: wantMixed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, sizes := pages(t, c, tt.folder, tt.size)
			if got := names(items); !slices.Equal(got, tt.want) {
				t.Fatalf("got %d names, want %d, each exactly once in byte order", len(got), len(tt.want))
			}
			if tt.sizes != nil && !slices.Equal(sizes, tt.sizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tt.sizes)
			}
		})
	}

	t.Run("the last page has no cursor", func(t *testing.T) {
		page, perr := list(t, c, providers.FileRef{Path: "/mixed"}, encodeCursor("e28"), 5)
		if perr != nil {
			t.Fatal(perr.Message)
		}
		if got := names(page.Items); !slices.Equal(got, []string{"e29"}) || page.Cursor != "" {
			t.Errorf("page = %q, cursor %q", got, page.Cursor)
		}
	})
	t.Run("a cursor after a name that is gone resumes after it", func(t *testing.T) {
		page, perr := list(t, c, providers.FileRef{Path: "/mixed"}, encodeCursor("e10x"), 2)
		if perr != nil {
			t.Fatal(perr.Message)
		}
		if got := names(page.Items); !slices.Equal(got, []string{"e11", "e13"}) || page.Cursor != encodeCursor("e13") {
			t.Errorf("page = %q, cursor %q", got, page.Cursor)
		}
	})
	for _, bad := range []string{"!!!", "Lw", "Li4", "e=", strings.Repeat("A", 10000)} {
		t.Run("bad cursor "+bad[:min(len(bad), 8)], func(t *testing.T) {
			_, perr := list(t, c, providers.FileRef{Path: "/mixed"}, bad, 5)
			if perr == nil || perr.Code != providers.CodeRefused {
				t.Errorf("got %+v, want refused", perr)
			}
		})
	}
}

func TestFilesSession(t *testing.T) {
	tmp := tree(t)
	root := filepath.Join(tmp, "root")

	t.Run("one login for many calls", func(t *testing.T) {
		s := startOSServer(t)
		c := openFiles(t, s, root)
		for _, p := range []string{"/", "/nested"} {
			if _, perr := list(t, c, providers.FileRef{Path: p}, "", 10); perr != nil {
				t.Fatal(perr.Message)
			}
		}
		if _, err := c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{{Path: "/a.json"}}}); err != nil {
			t.Fatal(err)
		}
		if n := s.logins.Load(); n != 1 {
			t.Errorf("%d logins for three calls, want 1", n)
		}
		// Verify proves the credentials with a login of its own...
		if _, perr := providertest.Verify(context.Background(), c); perr != nil {
			t.Fatal(perr.Message)
		}
		if n := s.logins.Load(); n != 2 {
			t.Errorf("%d logins after verify, want 2", n)
		}
		// ...and leaves the shared session alone.
		if _, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10); perr != nil {
			t.Fatal(perr.Message)
		}
		if n := s.logins.Load(); n != 2 {
			t.Errorf("%d logins, want 2", n)
		}
	})

	t.Run("concurrent calls share one login", func(t *testing.T) {
		s := startOSServer(t)
		c := openFiles(t, s, root)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					_, err = c.(providers.FileLister).ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/in"}, PageSize: 10})
				} else {
					_, err = c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{{Path: "/infile"}, {Path: "/out"}}})
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if n := s.logins.Load(); n != 1 {
			t.Errorf("%d logins, want 1", n)
		}
	})

	t.Run("a dropped session is dialed again", func(t *testing.T) {
		s := startOSServer(t)
		c := openFiles(t, s, root)
		if _, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10); perr != nil {
			t.Fatal(perr.Message)
		}
		s.dropConns()
		if _, perr := list(t, c, providers.FileRef{Path: "/nested"}, "", 10); perr != nil {
			t.Fatalf("after the server dropped the session: %s: %s", perr.Code, perr.Message)
		}
		if n := s.logins.Load(); n != 2 {
			t.Errorf("%d logins, want 2", n)
		}
	})

	t.Run("closed", func(t *testing.T) {
		s := startOSServer(t)
		c := openFiles(t, s, root)
		if _, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10); perr != nil {
			t.Fatal(perr.Message)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10); perr == nil {
			t.Error("listed after Close")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		s := startOSServer(t)
		c := providertest.Open(t, Driver{}, s.settings("base_path", root), map[string]string{"password": "wrong-password-1"})
		_, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10)
		if perr == nil || perr.Code != providers.CodeAuthFailed || strings.Contains(perr.Message, "wrong-password-1") {
			t.Errorf("list: %+v, want auth_failed", perr)
		}
		_, err := c.(providers.FileStater).StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{{Path: "/a.json"}}})
		providertest.WantCode(t, err, providers.CodeAuthFailed)
	})

	t.Run("host key mismatch sends no credentials", func(t *testing.T) {
		s := startOSServer(t)
		c := providertest.Open(t, Driver{}, s.settings("base_path", root, "host_key_fingerprint", "SHA256:"+strings.Repeat("A", 43)), map[string]string{"password": password})
		_, perr := list(t, c, providers.FileRef{Path: "/"}, "", 10)
		if perr == nil || perr.Code != providers.CodeInvalidConfig {
			t.Errorf("list: %+v, want invalid_config", perr)
		}
		if n := s.authAttempts.Load(); n != 0 {
			t.Errorf("%d credentials offered", n)
		}
	})

	t.Run("a server that stops answering is dropped at the deadline", func(t *testing.T) {
		s := start(t, &server{stall: make(chan struct{})})
		t.Cleanup(func() { close(s.stall) }) // before the server stops
		c := openFiles(t, s, "/")
		// Log in first, with no deadline, so a loaded machine's slow
		// handshake cannot use up the short deadline below.
		if _, perr := list(t, c, providers.FileRef{Path: "/data"}, "", 10); perr != nil {
			t.Fatalf("first list: %s: %s", perr.Code, perr.Message)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := c.(providers.FileLister).ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/stall"}, PageSize: 10})
		providertest.WantCode(t, err, providers.CodeTimeout)
		if _, perr := list(t, c, providers.FileRef{Path: "/data"}, "", 10); perr != nil {
			t.Fatalf("after a timeout: %s: %s", perr.Code, perr.Message)
		}
		if n := s.logins.Load(); n != 2 {
			t.Errorf("%d logins, want 2: the stuck session is not reused", n)
		}
	})

	t.Run("a call that finds the session dead runs once more on a new one", func(t *testing.T) {
		s := startOSServer(t)
		c := openFiles(t, s, root).(*conn)
		var seen []*session
		err := c.do(context.Background(), func(s *session) error {
			seen = append(seen, s)
			if len(seen) == 1 {
				return sftp.ErrSSHFxConnectionLost
			}
			return nil
		})
		if err != nil || len(seen) != 2 || seen[0] == seen[1] || seen[0].alive() {
			t.Fatalf("err %v, sessions %v", err, seen)
		}
		// Only once: a second lost connection is the call's error.
		seen = nil
		err = c.do(context.Background(), func(s *session) error {
			seen = append(seen, s)
			return sftp.ErrSSHFxConnectionLost
		})
		if e := providertest.WantCode(t, err, providers.CodeUnreachable); e != nil && !e.Retryable {
			t.Errorf("a lost connection is not retryable: %+v", e)
		}
		if len(seen) != 2 {
			t.Errorf("%d attempts, want 2", len(seen))
		}
		if n := s.logins.Load(); n != 3 {
			t.Errorf("%d logins, want 3", n)
		}
	})

	t.Run("silent server times out", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			if nc, err := ln.Accept(); err == nil {
				accepted <- nc
			}
		}()
		defer func() {
			select {
			case nc := <-accepted:
				nc.Close()
			default:
			}
		}()
		s := &server{addr: ln.Addr().String(), hostKey: ed25519Signer(t).PublicKey()}
		c := openFiles(t, s, root)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err = c.(providers.FileLister).ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/"}, PageSize: 10})
		providertest.WantCode(t, err, providers.CodeTimeout)
	})
}
