package googledrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/googleauth/googleauthtest"
	"github.com/junctionhq/junction/providers/providertest"
)

// dfile is one file of the fake Drive.
type dfile struct {
	id, name, mime string
	size           int64
	parents        []string
	trashed        bool
}

// driveFake serves files.list and files.get over an in-memory tree, on top
// of the verify fake (which checks the bearer token, GET and alt=json). It
// checks every documented parameter and answers 400 when one is missing or
// wrong, so a driver that sends the wrong request gets an error, not data.
type driveFake struct {
	t        *testing.T
	files    map[string]*dfile
	rootID   string // the real id behind the "root" alias
	driveID  string // when set, files.list must carry corpora=drive&driveId
	denied   map[string]bool
	fail     func(w http.ResponseWriter, r *http.Request) bool
	mu       sync.Mutex
	tokens   map[string]int // pageToken -> offset
	requests []string       // "list <q> <pageToken>" or "get <id>"
}

var (
	childrenQ = regexp.MustCompile(`^'((?:[^'\\]|\\.)*)' in parents and trashed=false$`)
	nameQ     = regexp.MustCompile(`^name='((?:[^'\\]|\\.)*)' and '((?:[^'\\]|\\.)*)' in parents and trashed=false$`)
	unescapeQ = regexp.MustCompile(`\\(.)`)
)

const modified = "2026-03-04T05:06:07.000Z"

func newDriveFake(t *testing.T, files ...*dfile) (*fake, *driveFake) {
	f := newFake(t)
	d := &driveFake{t: t, files: map[string]*dfile{}, rootID: "0Aroot", denied: map[string]bool{}, tokens: map[string]int{}}
	for _, x := range files {
		d.files[x.id] = x
	}
	f.answer = func(w http.ResponseWriter, r *http.Request, _ int) bool { return d.serve(w, r) }
	return f, d
}

// myDrive is the tree most tests use:
//
//	/Reports/2026/a.pdf, /Reports/2026/Budget (a spreadsheet)
//	/Reports/O'Brien \ notes/
//	/REPORTS (a file: the name query is loose, the driver must compare exactly)
//	/Dup (a file) and /Dup (a folder, containing nothing)
//	/Big folder/ with 7 entries
//	a trashed file, a file outside My Drive, a shared file without
//	parents, a parent cycle, and a file the account may not read.
func myDrive() []*dfile {
	folder := "application/vnd.google-apps.folder"
	fs := []*dfile{
		{id: "fReports", name: "Reports", mime: folder, parents: []string{"0Aroot"}},
		{id: "f2026", name: "2026", mime: folder, parents: []string{"fReports"}},
		{id: "fa", name: "a.pdf", mime: "application/pdf", size: 1234, parents: []string{"f2026"}},
		{id: "fsheet", name: "Budget", mime: "application/vnd.google-apps.spreadsheet", parents: []string{"f2026"}},
		{id: "fquote", name: `O'Brien \ notes`, mime: folder, parents: []string{"fReports"}},
		{id: "fnote", name: "n.txt", mime: "text/plain", size: 5, parents: []string{"fquote"}},
		{id: "fREPORTS", name: "REPORTS", mime: "text/plain", size: 1, parents: []string{"0Aroot"}},
		{id: "dup1", name: "Dup", mime: "text/plain", size: 2, parents: []string{"0Aroot"}},
		{id: "dup2", name: "Dup", mime: folder, parents: []string{"0Aroot"}},
		{id: "fbig", name: "Big folder", mime: folder, parents: []string{"0Aroot"}},
		{id: "ftrash", name: "old.txt", mime: "text/plain", size: 3, parents: []string{"0Aroot"}, trashed: true},
		{id: "ftrashdir", name: "Old", mime: folder, parents: []string{"0Aroot"}, trashed: true},
		{id: "fintrash", name: "in-old.txt", mime: "text/plain", size: 3, parents: []string{"ftrashdir"}},
		{id: "fother", name: "other.txt", mime: "text/plain", size: 3, parents: []string{"0Aelsewhere"}},
		{id: "fshared", name: "shared.txt", mime: "text/plain", size: 3},
		{id: "cyc1", name: "c1", mime: folder, parents: []string{"cyc2"}},
		{id: "cyc2", name: "c2", mime: folder, parents: []string{"cyc1"}},
		{id: "fdenied", name: "secret.txt", mime: "text/plain", size: 3, parents: []string{"0Aroot"}},
	}
	for i, n := range []string{"b-sub", "a-sub"} {
		fs = append(fs, &dfile{id: fmt.Sprintf("big-d%d", i), name: n, mime: folder, parents: []string{"fbig"}})
	}
	fs = append(fs,
		&dfile{id: "big-f0", name: "empty.bin", mime: "application/octet-stream", size: 0, parents: []string{"fbig"}},
		&dfile{id: "big-f1", name: "Doc", mime: "application/vnd.google-apps.document", parents: []string{"fbig"}},
		&dfile{id: "big-f2", name: "c.csv", mime: "text/csv", size: 30, parents: []string{"fbig"}},
		&dfile{id: "big-f3", name: "d.csv", mime: "text/csv", size: 40, parents: []string{"fbig"}},
		&dfile{id: "big-f4", name: "e.csv", mime: "text/csv", size: 50, parents: []string{"fbig"}},
	)
	return fs
}

func (d *driveFake) bad(w http.ResponseWriter, format string, args ...any) bool {
	d.t.Errorf("drive fake: "+format, args...)
	googleauthtest.APIError(w, 400, "badRequest", fmt.Sprintf(format, args...))
	return true
}

func (d *driveFake) serve(w http.ResponseWriter, r *http.Request) bool {
	if d.fail != nil && d.fail(w, r) {
		return true
	}
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/drive/v3/files":
		return d.list(w, q)
	case strings.HasPrefix(r.URL.Path, "/drive/v3/files/"):
		id := strings.TrimPrefix(r.URL.Path, "/drive/v3/files/")
		if q.Get("fields") != fileFields || q.Get("supportsAllDrives") != "true" {
			return d.bad(w, "files.get %s: fields=%q supportsAllDrives=%q", id, q.Get("fields"), q.Get("supportsAllDrives"))
		}
		d.log("get " + id)
		if d.denied[id] {
			googleauthtest.APIError(w, 403, "insufficientFilePermissions", "The user does not have sufficient permissions for this file.")
			return true
		}
		if id == "root" || id == d.rootID {
			writeJSON(w, map[string]any{"id": d.rootID, "name": "My Drive", "mimeType": folderMimeType, "modifiedTime": modified})
			return true
		}
		f, ok := d.files[id]
		if !ok {
			googleauthtest.APIError(w, 404, "notFound", "File not found: "+id+".")
			return true
		}
		m := d.json(f)
		m["trashed"] = f.trashed
		writeJSON(w, m)
		return true
	}
	return false
}

func (d *driveFake) list(w http.ResponseWriter, q map[string][]string) bool {
	get := func(k string) string {
		if v := q[k]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	if get("fields") != listFields || get("supportsAllDrives") != "true" || get("includeItemsFromAllDrives") != "true" {
		return d.bad(w, "files.list: fields=%q supportsAllDrives=%q includeItemsFromAllDrives=%q", get("fields"), get("supportsAllDrives"), get("includeItemsFromAllDrives"))
	}
	if d.driveID != "" && (get("corpora") != "drive" || get("driveId") != d.driveID) {
		return d.bad(w, "files.list on a shared drive: corpora=%q driveId=%q", get("corpora"), get("driveId"))
	}
	if d.driveID == "" && (get("corpora") != "" || get("driveId") != "") {
		return d.bad(w, "files.list: unexpected corpora=%q driveId=%q", get("corpora"), get("driveId"))
	}
	size, err := strconv.Atoi(get("pageSize"))
	if err != nil || size < 1 || size > 1000 {
		return d.bad(w, "files.list: pageSize=%q", get("pageSize"))
	}
	var parent, name string
	byName := false
	if m := nameQ.FindStringSubmatch(get("q")); m != nil {
		byName, name, parent = true, unescapeQ.ReplaceAllString(m[1], "$1"), unescapeQ.ReplaceAllString(m[2], "$1")
	} else if m := childrenQ.FindStringSubmatch(get("q")); m != nil {
		parent = unescapeQ.ReplaceAllString(m[1], "$1")
		if get("orderBy") != "folder,name" {
			return d.bad(w, "files.list: orderBy=%q", get("orderBy"))
		}
	} else {
		return d.bad(w, "files.list: q=%q", get("q"))
	}
	if parent == "root" {
		parent = d.rootID
	}
	d.log(fmt.Sprintf("list %s %s", get("q"), get("pageToken")))
	var kids []*dfile
	for _, f := range d.files {
		// Drive compares names case-insensitively; the driver must not.
		if slices.Contains(f.parents, parent) && !f.trashed && (!byName || strings.EqualFold(f.name, name)) {
			kids = append(kids, f)
		}
	}
	slices.SortFunc(kids, func(a, b *dfile) int {
		if fa, fb := a.mime == folderMimeType, b.mime == folderMimeType; fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	off := 0
	if tok := get("pageToken"); tok != "" {
		d.mu.Lock()
		o, ok := d.tokens[tok]
		d.mu.Unlock()
		if !ok {
			googleauthtest.APIError(w, 400, "invalid", "Invalid Value")
			return true
		}
		off = o
	}
	end := min(off+size, len(kids))
	out := map[string]any{}
	files := []any{}
	for _, f := range kids[off:end] {
		files = append(files, d.json(f))
	}
	out["files"] = files
	if end < len(kids) {
		d.mu.Lock()
		tok := fmt.Sprintf("~!!~AI9FV7%d", len(d.tokens)+1)
		d.tokens[tok] = end
		d.mu.Unlock()
		out["nextPageToken"] = tok
	}
	writeJSON(w, out)
	return true
}

// json is a file as Drive serializes it: size is a string, and absent for
// folders and Google-native documents.
func (d *driveFake) json(f *dfile) map[string]any {
	m := map[string]any{"id": f.id, "name": f.name, "mimeType": f.mime, "modifiedTime": modified}
	if f.parents != nil {
		m["parents"] = f.parents
	}
	if !strings.HasPrefix(f.mime, "application/vnd.google-apps.") {
		m["size"] = strconv.FormatInt(f.size, 10)
	}
	return m
}

func (d *driveFake) log(s string) {
	d.mu.Lock()
	d.requests = append(d.requests, s)
	d.mu.Unlock()
}

func openDrive(t *testing.T, f *fake, extra map[string]any) *conn {
	return providertest.Open(t, Driver{}, f.settings(extra), oauthSecrets()).(*conn)
}

func ptr[T any](v T) *T { return &v }

func TestListFilesPaging(t *testing.T) {
	for _, folder := range []providers.FileRef{{Path: "/Big folder"}, {ID: "fbig"}} {
		t.Run(folder.String(), func(t *testing.T) {
			f, d := newDriveFake(t, myDrive()...)
			c := openDrive(t, f, nil)
			seen := map[string]int{}
			var order []string
			cursor, pages := "", 0
			for {
				page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: folder, Cursor: cursor, PageSize: 3})
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				if page.Path != "/Big folder" {
					t.Errorf("page path = %q", page.Path)
				}
				for _, it := range page.Items {
					seen[it.ID]++
					order = append(order, it.Name)
					if want := "/Big folder/" + it.Name; it.Path != want {
						t.Errorf("%s: path %q, want %q", it.ID, it.Path, want)
					}
				}
				if cursor = page.Cursor; cursor == "" {
					break
				}
				if pages > 5 {
					t.Fatal("paging does not end")
				}
			}
			if pages != 3 {
				t.Errorf("pages = %d, want 3", pages)
			}
			if len(seen) != 7 {
				t.Errorf("saw %d entries, want 7: %v", len(seen), seen)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s listed %d times", id, n)
				}
			}
			if want := []string{"a-sub", "b-sub", "Doc", "c.csv", "d.csv", "e.csv", "empty.bin"}; !slices.Equal(order, want) {
				t.Errorf("order = %v, want %v", order, want)
			}
			// The page tokens Drive issued were sent back as they were.
			var tokens []string
			for _, r := range d.requests {
				if strings.HasPrefix(r, "list '") {
					tokens = append(tokens, r[strings.LastIndexByte(r, ' ')+1:])
				}
			}
			if !slices.Equal(tokens, []string{"", "~!!~AI9FV71", "~!!~AI9FV72"}) {
				t.Errorf("page tokens sent = %q", tokens)
			}
		})
	}
}

func TestListFilesItems(t *testing.T) {
	f, _ := newDriveFake(t, myDrive()...)
	c := openDrive(t, f, nil)
	page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Big folder"}, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	want := map[string]providers.FileItem{
		"id:big-d1": {ID: "id:big-d1", Kind: "folder", Name: "a-sub", Path: "/Big folder/a-sub", ModifiedAt: &mt},
		"id:big-f1": {ID: "id:big-f1", Kind: "file", Name: "Doc", Path: "/Big folder/Doc", ModifiedAt: &mt, MimeType: ptr("application/vnd.google-apps.document")},
		"id:big-f0": {ID: "id:big-f0", Kind: "file", Name: "empty.bin", Path: "/Big folder/empty.bin", ModifiedAt: &mt, MimeType: ptr("application/octet-stream"), Size: ptr[int64](0)},
		"id:big-f2": {ID: "id:big-f2", Kind: "file", Name: "c.csv", Path: "/Big folder/c.csv", ModifiedAt: &mt, MimeType: ptr("text/csv"), Size: ptr[int64](30)},
	}
	for _, it := range page.Items {
		w, ok := want[it.ID]
		if !ok {
			continue
		}
		delete(want, it.ID)
		if got, exp := describe(it), describe(w); got != exp {
			t.Errorf("item\n got %s\nwant %s", got, exp)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing items %v", want)
	}
	if page.Cursor != "" {
		t.Errorf("cursor = %q on the only page", page.Cursor)
	}
}

// describe prints an item with its pointers dereferenced.
func describe(it providers.FileItem) string {
	s := fmt.Sprintf("%s %s %q %q", it.ID, it.Kind, it.Name, it.Path)
	if it.MimeType != nil {
		s += " mime=" + *it.MimeType
	} else {
		s += " mime=nil"
	}
	if it.Size != nil {
		s += fmt.Sprintf(" size=%d", *it.Size)
	} else {
		s += " size=nil"
	}
	if it.ModifiedAt != nil {
		s += " at=" + it.ModifiedAt.Format(time.RFC3339Nano)
	} else {
		s += " at=nil"
	}
	return s
}

func TestListFilesResolve(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		folder   providers.FileRef
		path     string   // the page's path
		ids      []string // the page's item ids, in order
		code     providers.Code
		msg      string
	}{
		{name: "root", folder: providers.FileRef{Path: "/"}, path: "/",
			ids: []string{"id:fbig", "id:dup2", "id:fReports", "id:dup1", "id:fREPORTS", "id:fdenied"}},
		{name: "nested path", folder: providers.FileRef{Path: "/Reports/2026"}, path: "/Reports/2026", ids: []string{"id:fsheet", "id:fa"}},
		{name: "quote and backslash in a name", folder: providers.FileRef{Path: `/Reports/O'Brien \ notes`}, path: `/Reports/O'Brien \ notes`, ids: []string{"id:fnote"}},
		{name: "id", folder: providers.FileRef{ID: "f2026"}, path: "/Reports/2026", ids: []string{"id:fsheet", "id:fa"}},
		{name: "root alias id", folder: providers.FileRef{ID: "root"}, path: "/", ids: []string{"id:fbig", "id:dup2", "id:fReports", "id:dup1", "id:fREPORTS", "id:fdenied"}},
		{name: "root real id", folder: providers.FileRef{ID: "0Aroot"}, path: "/", ids: []string{"id:fbig", "id:dup2", "id:fReports", "id:dup1", "id:fREPORTS", "id:fdenied"}},
		{name: "a file and a folder of the same name", folder: providers.FileRef{Path: "/Dup"}, code: providers.CodeConflict, msg: "id:dup2, id:dup1"},
		{name: "a file sibling does not block a folder path", folder: providers.FileRef{Path: "/Dup/x"}, code: providers.CodeNotFound, msg: "/Dup/x was not found"},
		{name: "missing path", folder: providers.FileRef{Path: "/Reports/1999"}, code: providers.CodeNotFound, msg: "/Reports/1999 was not found"},
		{name: "names compare exactly", folder: providers.FileRef{Path: "/reports"}, code: providers.CodeNotFound},
		{name: "a file", folder: providers.FileRef{Path: "/Reports/2026/a.pdf"}, code: providers.CodeNotFound, msg: "is a file"},
		{name: "missing id", folder: providers.FileRef{ID: "nope"}, code: providers.CodeNotFound, msg: "id:nope was not found"},
		{name: "id outside My Drive", folder: providers.FileRef{ID: "fother"}, code: providers.CodeNotFound, msg: "id:fother"},
		{name: "id without parents", folder: providers.FileRef{ID: "fshared"}, code: providers.CodeNotFound},
		{name: "trashed id", folder: providers.FileRef{ID: "ftrashdir"}, code: providers.CodeNotFound},
		{name: "parent cycle", folder: providers.FileRef{ID: "cyc1"}, code: providers.CodeNotFound},
		{name: "root folder: path", settings: map[string]any{"root_folder_id": "fReports"},
			folder: providers.FileRef{Path: "/2026"}, path: "/2026", ids: []string{"id:fsheet", "id:fa"}},
		{name: "root folder: id inside", settings: map[string]any{"root_folder_id": "fReports"},
			folder: providers.FileRef{ID: "f2026"}, path: "/2026", ids: []string{"id:fsheet", "id:fa"}},
		{name: "root folder: its own id", settings: map[string]any{"root_folder_id": "fReports"},
			folder: providers.FileRef{ID: "fReports"}, path: "/", ids: []string{"id:f2026", "id:fquote"}},
		{name: "root folder: id outside is 404", settings: map[string]any{"root_folder_id": "fReports"},
			folder: providers.FileRef{ID: "fbig"}, code: providers.CodeNotFound, msg: "below the connection's root folder"},
		{name: "root folder: path cannot climb", settings: map[string]any{"root_folder_id": "fReports"},
			folder: providers.FileRef{Path: "/../Big folder"}, code: providers.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newDriveFake(t, myDrive()...)
			c := openDrive(t, f, tc.settings)
			page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: tc.folder, PageSize: 100})
			if tc.code != "" {
				pe := providertest.WantCode(t, err, tc.code)
				if !strings.Contains(pe.Message, tc.msg) {
					t.Errorf("message %q does not contain %q", pe.Message, tc.msg)
				}
				if tc.code == providers.CodeConflict && !errors.Is(err, ErrAmbiguous) {
					t.Errorf("a conflict is not ErrAmbiguous")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if page.Path != tc.path {
				t.Errorf("path = %q, want %q", page.Path, tc.path)
			}
			var ids []string
			for _, it := range page.Items {
				ids = append(ids, it.ID)
				if want := strings.TrimSuffix(tc.path, "/") + "/" + it.Name; it.Path != want {
					t.Errorf("%s: path %q, want %q", it.ID, it.Path, want)
				}
			}
			if !slices.Equal(ids, tc.ids) {
				t.Errorf("ids = %v, want %v", ids, tc.ids)
			}
		})
	}
}

func TestListFilesAmbiguousLeaf(t *testing.T) {
	fs := append(myDrive(), &dfile{id: "dup3", name: "Dup", mime: folderMimeType, parents: []string{"0Aroot"}})
	f, _ := newDriveFake(t, fs...)
	c := openDrive(t, f, nil)
	// Two folders named Dup: a path through them is ambiguous too.
	_, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Dup/x"}, PageSize: 10})
	pe := providertest.WantCode(t, err, providers.CodeConflict)
	if !strings.Contains(pe.Message, "id:dup2, id:dup3") || !strings.Contains(pe.Message, "/Dup is ambiguous") {
		t.Errorf("message = %q", pe.Message)
	}
}

func TestListFilesSharedDrive(t *testing.T) {
	folder := folderMimeType
	f, d := newDriveFake(t,
		&dfile{id: "sdTeam", name: "Team", mime: folder, parents: []string{"0Ashared"}},
		&dfile{id: "sdFile", name: "x.csv", mime: "text/csv", size: 9, parents: []string{"sdTeam"}},
		&dfile{id: "fmine", name: "mine.txt", mime: "text/plain", size: 1, parents: []string{"0Aroot"}},
	)
	d.driveID = "0Ashared"
	c := openDrive(t, f, map[string]any{"shared_drive_id": "0Ashared"})
	page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Team"}, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Path != "/Team/x.csv" {
		t.Fatalf("items = %+v", page.Items)
	}
	res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{{ID: "sdFile"}, {ID: "fmine"}, {ID: "0Ashared"}}})
	if err != nil {
		t.Fatal(err)
	}
	if it := res.Items[0]; it.Err != nil || it.Item.Path != "/Team/x.csv" {
		t.Errorf("sdFile: %+v", it)
	}
	if it := res.Items[1]; it.Err == nil || it.Err.Code != providers.CodeNotFound {
		t.Errorf("a My Drive file from a shared-drive connection: %+v", it)
	}
	if it := res.Items[2]; it.Err != nil || it.Item.Path != "/" || it.Item.Kind != providers.FileKindFolder {
		t.Errorf("the drive's root: %+v", it)
	}
}

func TestStatFiles(t *testing.T) {
	f, d := newDriveFake(t, myDrive()...)
	d.denied["fdenied"] = true
	c := openDrive(t, f, nil)
	refs := []providers.FileRef{
		{Path: "/Reports/2026/a.pdf"},
		{ID: "fsheet"},
		{Path: "/"},
		{Path: "/Nope"},
		{ID: "missing"},
		{ID: "fdenied"},
		{Path: "/Dup"},
		{ID: "fother"},
		{Path: "/Reports"},
		{ID: "ftrash"},
		{ID: "fintrash"},
	}
	res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != len(refs) {
		t.Fatalf("%d results for %d items", len(res.Items), len(refs))
	}
	want := []struct {
		id, path string
		size     *int64
		code     providers.Code
	}{
		{id: "id:fa", path: "/Reports/2026/a.pdf", size: ptr[int64](1234)},
		{id: "id:fsheet", path: "/Reports/2026/Budget"},
		{id: "id:root", path: "/"},
		{code: providers.CodeNotFound},
		{code: providers.CodeNotFound},
		{code: providers.CodePermissionDenied},
		{code: providers.CodeConflict},
		{code: providers.CodeNotFound},
		{id: "id:fReports", path: "/Reports"},
		{code: providers.CodeNotFound},
		{code: providers.CodeNotFound},
	}
	for i, w := range want {
		got := res.Items[i]
		if w.code != "" {
			if got.Err == nil || got.Err.Code != w.code {
				t.Errorf("%s: %+v, want error %s", refs[i], got, w.code)
			}
			if got.Item != (providers.FileItem{}) {
				t.Errorf("%s: an error with an item %+v", refs[i], got.Item)
			}
			continue
		}
		if got.Err != nil {
			t.Errorf("%s: %s: %s", refs[i], got.Err.Code, got.Err.Message)
			continue
		}
		if got.Item.ID != w.id || got.Item.Path != w.path || (w.size == nil) != (got.Item.Size == nil) || (w.size != nil && *w.size != *got.Item.Size) {
			t.Errorf("%s: %s, want %s at %s size %v", refs[i], describe(got.Item), w.id, w.path, w.size)
		}
	}
}

// TestFilesWholeCallErrors: rate limits and auth failures fail the whole
// call, with the Retry-After passed on.
func TestFilesWholeCallErrors(t *testing.T) {
	fail := func(match string, status int, reason string, header ...string) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasPrefix(r.URL.Path, match) {
				return false
			}
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			googleauthtest.APIError(w, status, reason, "refused "+accessToken)
			return true
		}
	}
	cases := []struct {
		name  string
		fail  func(http.ResponseWriter, *http.Request) bool
		code  providers.Code
		retry time.Duration
	}{
		{name: "429 with Retry-After", fail: fail("/drive/v3/files", 429, "rateLimitExceeded", "Retry-After", "30"), code: providers.CodeRateLimited, retry: 30 * time.Second},
		{name: "403 user rate limit", fail: fail("/drive/v3/files", 403, "userRateLimitExceeded", "Retry-After", "30"), code: providers.CodeRateLimited, retry: 30 * time.Second},
		{name: "401", fail: fail("/drive/v3/files", 401, "authError"), code: providers.CodeAuthFailed},
		{name: "501", fail: fail("/drive/v3/files", 501, "backendError"), code: providers.CodeProviderError},
	}
	calls := []struct {
		name string
		do   func(c *conn) error
	}{
		{"list", func(c *conn) error {
			_, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/"}, PageSize: 10})
			return err
		}},
		{"list by path", func(c *conn) error {
			_, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Reports"}, PageSize: 10})
			return err
		}},
		{"stat", func(c *conn) error {
			_, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{{ID: "fa"}, {Path: "/Reports"}, {ID: "fsheet"}}})
			return err
		}},
	}
	for _, tc := range cases {
		for _, call := range calls {
			t.Run(tc.name+"/"+call.name, func(t *testing.T) {
				f, d := newDriveFake(t, myDrive()...)
				d.fail = tc.fail
				err := call.do(openDrive(t, f, nil))
				var pe *providers.Error
				if tc.retry > 0 {
					pe = providertest.WantRateLimited(t, err, tc.retry)
				} else {
					pe = providertest.WantCode(t, err, tc.code)
				}
				if strings.Contains(pe.Message, accessToken) {
					t.Errorf("message leaks the access token: %s", pe.Message)
				}
			})
		}
	}
}

func TestEscapeQuery(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		"O'Brien":       `O\'Brien`,
		`a\b`:           `a\\b`,
		`\'`:            `\\\'`,
		"' or 'x' = 'x": `\' or \'x\' = \'x`,
	} {
		if got := escapeQuery(in); got != want {
			t.Errorf("escapeQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
