package gmail

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/gmail/v1"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/googleauth/googleauthtest"
	"github.com/junctionhq/junction/providers/providertest"
)

// gmsg is one message of the fake mailbox.
type gmsg struct {
	id       string
	labels   []string
	internal int64 // ms since the epoch
	subject  string
	date     string
	parts    []any // payload.parts as Gmail serializes them
}

// hasAttachment is what Gmail's has:attachment matches: a part stored
// apart (nested parts included).
func (m *gmsg) hasAttachment() bool {
	b, _ := json.Marshal(m.parts)
	return strings.Contains(string(b), `"attachmentId"`)
}

// mailFake is Google's token endpoint and the Gmail endpoints the files
// calls use: users.labels.list, users.messages.list and users.messages.get.
// It checks the documented request (GET, the path, alt=json, the bearer
// token and every parameter the driver must send) and answers 400 when
// anything differs, so a driver that sends the wrong request gets no data.
type mailFake struct {
	t      *testing.T
	srv    *httptest.Server
	tok    *googleauthtest.TokenServer
	labels []map[string]string
	msgs   map[string]*gmsg
	// gone are ids messages.list returns but messages.get no longer finds.
	gone   map[string]bool
	denied map[string]bool
	wantQ  string
	fail   func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	tokens   map[string]int
	requests []string
}

func newMailFake(t *testing.T) *mailFake {
	f := &mailFake{
		t: t, tok: &googleauthtest.TokenServer{Scope: scope, AccessToken: accessToken},
		msgs: map[string]*gmsg{}, gone: map[string]bool{}, denied: map[string]bool{}, tokens: map[string]int{},
		wantQ: "has:attachment",
		labels: []map[string]string{
			{"id": "INBOX", "name": "INBOX", "type": "system"},
			{"id": "SENT", "name": "SENT", "type": "system"},
			{"id": "Label_1", "name": "Invoices", "type": "user"},
			{"id": "Label_2", "name": "Work/Projects", "type": "user"},
			{"id": "Label_3", "name": "Archive", "type": "user"},
		},
	}
	pdf := map[string]any{"partId": "1", "mimeType": "application/pdf", "filename": "invoice.pdf", "body": map[string]any{"attachmentId": "ANGjdJ-long-unstable-1", "size": 12345}}
	jpg := map[string]any{"partId": "2", "mimeType": "image/jpeg", "filename": "photo.jpg", "body": map[string]any{"attachmentId": "ANGjdJ-long-unstable-2", "size": 678}}
	text := map[string]any{"partId": "0", "mimeType": "multipart/alternative", "filename": "", "body": map[string]any{"size": 0}, "parts": []any{
		map[string]any{"partId": "0.0", "mimeType": "text/plain", "filename": "", "body": map[string]any{"size": 5, "data": "aGVsbG8="}},
		map[string]any{"partId": "0.1", "mimeType": "text/html", "filename": "", "body": map[string]any{"size": 12, "data": "PGI-aGVsbG88L2I-"}},
	}}
	// An inline part with a file name but its data in the body: not an
	// attachment Gmail stores apart.
	inline := map[string]any{"partId": "4", "mimeType": "text/plain", "filename": "inline.txt", "body": map[string]any{"size": 3, "data": "YWJj"}}
	forwarded := map[string]any{"partId": "3", "mimeType": "message/rfc822", "filename": "", "body": map[string]any{"size": 0}, "parts": []any{
		map[string]any{"partId": "3.1", "mimeType": "", "filename": "inner.csv", "body": map[string]any{"attachmentId": "ANGjdJ-long-unstable-3", "size": 40}},
	}}
	f.msgs["m1"] = &gmsg{id: "m1", labels: []string{"UNREAD", "INBOX", "Label_1"}, internal: 1772525700000,
		subject: "Invoice  42\r\n March", date: "Tue, 3 Mar 2026 09:15:00 +0100", parts: []any{text, pdf, jpg, forwarded, inline}}
	base := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	for i := range 7 {
		id := fmt.Sprintf("p%d", i)
		at := base.Add(time.Duration(i) * time.Hour)
		f.msgs[id] = &gmsg{id: id, labels: []string{"Label_3"}, internal: at.UnixMilli(),
			subject: fmt.Sprintf("Report %d", i), date: at.Format(time.RFC1123Z), parts: []any{text, pdf}}
	}
	f.msgs["plain"] = &gmsg{id: "plain", labels: []string{"Label_3"}, internal: base.UnixMilli(), subject: "No files", date: base.Format(time.RFC1123Z), parts: []any{text}}
	f.msgs["nosubject"] = &gmsg{id: "nosubject", labels: []string{"Label_2"}, internal: base.UnixMilli(), parts: []any{pdf}}
	// Sent and filed under a user label, without attachments.
	f.msgs["sentwork"] = &gmsg{id: "sentwork", labels: []string{"SENT", "Label_2"}, internal: base.UnixMilli(), subject: "Plan", date: base.Format(time.RFC1123Z), parts: []any{text}}
	f.msgs["archived"] = &gmsg{id: "archived", labels: []string{"IMPORTANT", "Label_3", "Label_1"}, internal: base.UnixMilli(), subject: "Old", date: "garbage", parts: []any{pdf}}

	mux := http.NewServeMux()
	mux.Handle("/token", f.tok)
	mux.HandleFunc("/", f.api)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.tok.Audience = f.srv.URL + "/token"
	return f
}

func (f *mailFake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"client_id": googleauthtest.ClientID, "base_url": f.srv.URL + "/", "token_url": f.srv.URL + "/token"}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func (f *mailFake) open(t *testing.T, extra map[string]any) *conn {
	return providertest.Open(t, Driver{}, f.settings(extra), oauthSecrets()).(*conn)
}

func (f *mailFake) bad(w http.ResponseWriter, format string, args ...any) {
	f.t.Errorf("gmail fake: "+format, args...)
	googleauthtest.APIError(w, 400, "badRequest", fmt.Sprintf(format, args...))
}

func (f *mailFake) log(s string) {
	f.mu.Lock()
	f.requests = append(f.requests, s)
	f.mu.Unlock()
}

func (f *mailFake) api(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+accessToken {
		googleauthtest.APIError(w, 401, "authError", "Request had invalid authentication credentials.")
		return
	}
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("alt") != "json" {
		f.bad(w, "%s %s", r.Method, r.URL)
		return
	}
	if f.fail != nil && f.fail(w, r) {
		return
	}
	one := func(k string) string {
		if v := q[k]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	switch p := r.URL.Path; {
	case p == "/gmail/v1/users/me/labels":
		if one("fields") != labelFields {
			f.bad(w, "labels.list: fields=%q", q.Get("fields"))
			return
		}
		f.log("labels")
		writeJSON(w, map[string]any{"labels": f.labels})
	case p == "/gmail/v1/users/me/messages":
		f.list(w, one)
	case strings.HasPrefix(p, "/gmail/v1/users/me/messages/"):
		id := strings.TrimPrefix(p, "/gmail/v1/users/me/messages/")
		format := one("format")
		switch {
		case format == "metadata" && slices.Equal(q["metadataHeaders"], []string{"Subject", "Date"}) && one("fields") == metadataFields:
		case format == "full" && len(q["metadataHeaders"]) == 0 && one("fields") == fullFields:
		default:
			f.bad(w, "messages.get %s: %s", id, r.URL.RawQuery)
			return
		}
		f.log("get " + format + " " + id)
		if f.denied[id] {
			googleauthtest.APIError(w, 403, "insufficientPermissions", "Request had insufficient authentication scopes.")
			return
		}
		if !messageID.MatchString(id) {
			googleauthtest.APIError(w, 400, "invalidArgument", "Invalid id value")
			return
		}
		m := f.msgs[id]
		if m == nil || f.gone[id] {
			googleauthtest.APIError(w, 404, "notFound", "Requested entity was not found.")
			return
		}
		var headers []any
		if m.subject != "" {
			headers = append(headers, map[string]string{"name": "Subject", "value": m.subject})
		}
		if m.date != "" {
			headers = append(headers, map[string]string{"name": "Date", "value": m.date})
		}
		payload := map[string]any{"headers": headers}
		if format == "full" {
			headers = append(headers, map[string]string{"name": "From", "value": "billing@example.com"})
			payload = map[string]any{"partId": "", "mimeType": "multipart/mixed", "filename": "", "headers": headers, "body": map[string]any{"size": 0}, "parts": m.parts}
		}
		writeJSON(w, map[string]any{"id": m.id, "labelIds": m.labels, "internalDate": strconv.FormatInt(m.internal, 10), "payload": payload})
	default:
		googleauthtest.APIError(w, 404, "notFound", "Not Found")
	}
}

// list answers users.messages.list: the label's messages that have
// attachments, newest first, paged with opaque tokens.
func (f *mailFake) list(w http.ResponseWriter, one func(string) string) {
	max, err := strconv.Atoi(one("maxResults"))
	if one("q") != f.wantQ || one("labelIds") == "" || one("fields") != listFields || err != nil || max < 1 || max > 500 {
		f.bad(w, "messages.list: q=%q labelIds=%q fields=%q maxResults=%q", one("q"), one("labelIds"), one("fields"), one("maxResults"))
		return
	}
	f.log("list " + one("labelIds") + " " + one("pageToken"))
	var ids []*gmsg
	for _, m := range f.msgs {
		if slices.Contains(m.labels, one("labelIds")) && m.hasAttachment() {
			ids = append(ids, m)
		}
	}
	slices.SortFunc(ids, func(a, b *gmsg) int {
		if a.internal != b.internal {
			return int(b.internal - a.internal)
		}
		return strings.Compare(a.id, b.id)
	})
	off := 0
	if tok := one("pageToken"); tok != "" {
		f.mu.Lock()
		o, ok := f.tokens[tok]
		f.mu.Unlock()
		if !ok {
			googleauthtest.APIError(w, 400, "invalidArgument", "Invalid pageToken")
			return
		}
		off = o
	}
	end := min(off+max, len(ids))
	msgs := []any{}
	for _, m := range ids[off:end] {
		msgs = append(msgs, map[string]string{"id": m.id})
	}
	out := map[string]any{"messages": msgs, "resultSizeEstimate": len(ids)}
	if end < len(ids) {
		f.mu.Lock()
		tok := fmt.Sprintf("0%d7719", len(f.tokens)+1)
		f.tokens[tok] = end
		f.mu.Unlock()
		out["nextPageToken"] = tok
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

// listAll lists every page of folder, failing the test on an error, a page
// path other than path, or a page not ending.
func listAll(t *testing.T, c *conn, folder providers.FileRef, size int, path string) (items []providers.FileItem, pages int) {
	t.Helper()
	cursor := ""
	for {
		page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: folder, Cursor: cursor, PageSize: size})
		if err != nil {
			t.Fatalf("%s page %d: %v", folder, pages+1, err)
		}
		pages++
		if page.Path != path {
			t.Errorf("page path %q, want %q", page.Path, path)
		}
		items = append(items, page.Items...)
		if cursor = page.Cursor; cursor == "" {
			return items, pages
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
}

func ids(items []providers.FileItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestListLabels(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		size     int
		pages    int
		want     []providers.FileItem
	}{
		{name: "every label over three pages", size: 2, pages: 3, want: []providers.FileItem{
			{ID: "id:label:Label_3", Name: "Archive", Path: "/Archive"},
			{ID: "id:label:INBOX", Name: "INBOX", Path: "/INBOX"},
			{ID: "id:label:Label_1", Name: "Invoices", Path: "/Invoices"},
			{ID: "id:label:SENT", Name: "SENT", Path: "/SENT"},
			{ID: "id:label:Label_2", Name: "Work/Projects", Path: "/Work/Projects"},
		}},
		{name: "configured labels only", settings: map[string]any{"label_ids": []any{"Label_1", "INBOX", "Label_9"}}, size: 100, pages: 1, want: []providers.FileItem{
			{ID: "id:label:INBOX", Name: "INBOX", Path: "/INBOX"},
			{ID: "id:label:Label_1", Name: "Invoices", Path: "/Invoices"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newMailFake(t)
			c := f.open(t, tc.settings)
			items, pages := listAll(t, c, providers.FileRef{Path: "/"}, tc.size, "/")
			if pages != tc.pages {
				t.Errorf("pages = %d, want %d", pages, tc.pages)
			}
			if len(items) != len(tc.want) {
				t.Fatalf("items = %v, want %v", ids(items), tc.want)
			}
			for i, w := range tc.want {
				w.Kind = providers.FileKindFolder
				if got := items[i]; got.ID != w.ID || got.Name != w.Name || got.Path != w.Path || got.Kind != w.Kind || got.Size != nil || got.MimeType != nil {
					t.Errorf("item %d = %+v, want %+v", i, got, w)
				}
			}
			if n := strings.Count(strings.Join(f.requests, "\n"), "labels"); n != pages {
				t.Errorf("labels.list calls = %d, want one per page (%d)", n, pages)
			}
		})
	}
}

func TestListMessagesPaging(t *testing.T) {
	for _, folder := range []providers.FileRef{{Path: "/Archive"}, {ID: "label:Label_3"}} {
		t.Run(folder.String(), func(t *testing.T) {
			f := newMailFake(t)
			f.gone["p4"] = true // deleted between the list and the get
			c := f.open(t, nil)
			items, pages := listAll(t, c, folder, 3, "/Archive")
			if pages != 3 {
				t.Errorf("pages = %d, want 3", pages)
			}
			// Newest first, p4 gone, "plain" has no attachment; "archived"
			// is the oldest (its Date header is garbage: the internal date
			// names it).
			want := []string{"id:msg:p6", "id:msg:p5", "id:msg:p3", "id:msg:p2", "id:msg:p1", "id:msg:archived", "id:msg:p0"}
			if got := ids(items); !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
			seen := map[string]bool{}
			for _, it := range items {
				if seen[it.ID] {
					t.Errorf("%s listed twice", it.ID)
				}
				seen[it.ID] = true
				if it.Kind != providers.FileKindFolder || it.Size != nil || it.MimeType != nil || it.ModifiedAt == nil {
					t.Errorf("%s: %+v", it.ID, it)
				}
				if it.Path != "/Archive/"+it.Name {
					t.Errorf("%s: path %q for name %q", it.ID, it.Path, it.Name)
				}
			}
			if it := items[0]; it.Name != "Report 6 (2026-02-01 18:00 UTC)" || !it.ModifiedAt.Equal(time.Date(2026, 2, 1, 18, 0, 0, 0, time.UTC)) {
				t.Errorf("p6 = %q at %v", it.Name, it.ModifiedAt)
			}
			if it := items[5]; it.Name != "Old (2026-02-01 12:00 UTC)" {
				t.Errorf("archived = %q", it.Name)
			}
			var tokens []string
			for _, r := range f.requests {
				if strings.HasPrefix(r, "list ") {
					tokens = append(tokens, strings.TrimPrefix(r, "list Label_3 "))
				}
			}
			if !slices.Equal(tokens, []string{"", "017719", "027719"}) {
				t.Errorf("list requests (label and page token) = %q", tokens)
			}
		})
	}
}

func TestListMessagesQuery(t *testing.T) {
	f := newMailFake(t)
	f.wantQ = "has:attachment (from:billing@example.com OR from:ap@example.com)"
	c := f.open(t, map[string]any{"query": "  from:billing@example.com OR from:ap@example.com "})
	page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{Path: "/Work/Projects"}, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Name != "(no subject) (2026-02-01 12:00 UTC)" || page.Items[0].Path != "/Work/Projects/(no subject) (2026-02-01 12:00 UTC)" {
		t.Fatalf("items = %+v", page.Items)
	}
}

func TestListAttachments(t *testing.T) {
	const dir = "/INBOX/Invoice 42 March (2026-03-03 08:15 UTC)"
	at := time.UnixMilli(1772525700000).UTC()
	f := newMailFake(t)
	c := f.open(t, nil)
	page, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: providers.FileRef{ID: "msg:m1"}, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Path != dir || page.Cursor != "" {
		t.Errorf("page path %q cursor %q", page.Path, page.Cursor)
	}
	want := []struct {
		id, name, mime string
		size           int64
	}{
		{"id:att:m1/1", "invoice.pdf", "application/pdf", 12345},
		{"id:att:m1/3.1", "inner.csv", mime.TypeByExtension(".csv"), 40},
	}
	// photo.jpg too, between them, in part order.
	want = slices.Insert(want, 1, struct {
		id, name, mime string
		size           int64
	}{"id:att:m1/2", "photo.jpg", "image/jpeg", 678})
	if len(page.Items) != len(want) {
		t.Fatalf("items = %v", ids(page.Items))
	}
	for i, w := range want {
		it := page.Items[i]
		if it.ID != w.id || it.Name != w.name || it.Kind != providers.FileKindFile || it.Path != dir+"/"+w.name ||
			it.MimeType == nil || *it.MimeType != w.mime || it.Size == nil || *it.Size != w.size || it.ModifiedAt == nil || !it.ModifiedAt.Equal(at) {
			t.Errorf("item %d = %+v (mime %v size %v), want %+v", i, it, deref(it.MimeType), deref(it.Size), w)
		}
	}
	if got := strings.Join(f.requests, ","); got != "get full m1,labels" {
		t.Errorf("requests = %s, want one full get and the labels", got)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestListFilesRefs(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		folder   providers.FileRef
		code     providers.Code
		msg      string
	}{
		{name: "message by path", folder: providers.FileRef{Path: "/INBOX/Invoice 42 March (2026-03-03 08:15 UTC)"}, code: providers.CodeNotFound, msg: "reached by id"},
		{name: "unknown label", folder: providers.FileRef{Path: "/Nope"}, code: providers.CodeNotFound, msg: `no label is named "Nope"`},
		{name: "unknown label id", folder: providers.FileRef{ID: "label:Label_9"}, code: providers.CodeNotFound},
		{name: "unconfigured label", settings: map[string]any{"label_ids": []any{"INBOX"}}, folder: providers.FileRef{Path: "/Archive"}, code: providers.CodeNotFound},
		{name: "unconfigured label id", settings: map[string]any{"label_ids": []any{"INBOX"}}, folder: providers.FileRef{ID: "label:Label_3"}, code: providers.CodeNotFound},
		{name: "message outside the configured labels", settings: map[string]any{"label_ids": []any{"INBOX"}}, folder: providers.FileRef{ID: "msg:p1"}, code: providers.CodeNotFound},
		{name: "missing message", folder: providers.FileRef{ID: "msg:0000"}, code: providers.CodeNotFound},
		{name: "malformed message id", folder: providers.FileRef{ID: "msg:../../labels"}, code: providers.CodeNotFound},
		{name: "attachment", folder: providers.FileRef{ID: "att:m1/1"}, code: providers.CodeNotFound, msg: "is a file"},
		{name: "unknown kind of id", folder: providers.FileRef{ID: "thread:1"}, code: providers.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newMailFake(t)
			c := f.open(t, tc.settings)
			_, err := c.ListFiles(context.Background(), providers.ListFilesRequest{Folder: tc.folder, PageSize: 10})
			pe := providertest.WantCode(t, err, tc.code)
			if !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Message, tc.msg)
			}
			for _, r := range f.requests {
				if strings.Contains(r, "..") {
					t.Errorf("a malformed id reached Gmail: %s", r)
				}
			}
		})
	}
}

func TestStatFiles(t *testing.T) {
	f := newMailFake(t)
	f.denied["d1"] = true
	c := f.open(t, nil)
	refs := []providers.FileRef{
		{Path: "/"},
		{Path: "/INBOX"},
		{ID: "label:Label_2"},
		{ID: "msg:m1"},
		{ID: "att:m1/2"},
		{ID: "att:m1/0.0"}, // the text body, not an attachment
		{ID: "att:m1/9"},
		{ID: "msg:0000"},
		{ID: "msg:bad id"},
		{ID: "label:Label_9"},
		{ID: "msg:d1"},
		{Path: "/INBOX/x"},
		{ID: "msg:archived"},
		{ID: "att:m1"},
		{ID: "msg:sentwork"},
	}
	res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: refs})
	if err != nil {
		t.Fatal(err)
	}
	const m1 = "/INBOX/Invoice 42 March (2026-03-03 08:15 UTC)"
	want := []struct {
		id, path, kind string
		code           providers.Code
	}{
		{id: "/", path: "/", kind: "folder"},
		{id: "id:label:INBOX", path: "/INBOX", kind: "folder"},
		{id: "id:label:Label_2", path: "/Work/Projects", kind: "folder"},
		{id: "id:msg:m1", path: m1, kind: "folder"},
		{id: "id:att:m1/2", path: m1 + "/photo.jpg", kind: "file"},
		{code: providers.CodeNotFound},
		{code: providers.CodeNotFound},
		{code: providers.CodeNotFound},
		{code: providers.CodeNotFound},
		{code: providers.CodeNotFound},
		{code: providers.CodePermissionDenied},
		{code: providers.CodeNotFound},
		// Not in the inbox: under its user labels, first by path.
		{id: "id:msg:archived", path: "/Archive/Old (2026-02-01 12:00 UTC)", kind: "folder"},
		{code: providers.CodeNotFound},
		// A user label before a system one.
		{id: "id:msg:sentwork", path: "/Work/Projects/Plan (2026-02-01 12:00 UTC)", kind: "folder"},
	}
	if len(res.Items) != len(refs) {
		t.Fatalf("%d results for %d items", len(res.Items), len(refs))
	}
	for i, w := range want {
		got := res.Items[i]
		if w.code != "" {
			if got.Err == nil || got.Err.Code != w.code || got.Item != (providers.FileItem{}) {
				t.Errorf("%s: %+v, want %s", refs[i], got, w.code)
			}
			continue
		}
		if got.Err != nil {
			t.Errorf("%s: %s: %s", refs[i], got.Err.Code, got.Err.Message)
			continue
		}
		if got.Item.ID != w.id || got.Item.Path != w.path || got.Item.Kind != w.kind {
			t.Errorf("%s: %+v, want %s %s at %s", refs[i], got.Item, w.kind, w.id, w.path)
		}
	}
	if sz := res.Items[4].Item.Size; sz == nil || *sz != 678 {
		t.Errorf("photo.jpg size = %v", deref(sz))
	}
	labelCalls := 0
	for _, r := range f.requests {
		if r == "labels" {
			labelCalls++
		}
		if strings.Contains(r, "bad id") {
			t.Errorf("a malformed id reached Gmail: %s", r)
		}
	}
	if labelCalls != 1 {
		t.Errorf("labels.list calls = %d, want 1 for the whole call", labelCalls)
	}
}

func TestStatFilesConfiguredLabels(t *testing.T) {
	f := newMailFake(t)
	c := f.open(t, map[string]any{"label_ids": []any{"Label_1"}})
	res, err := c.StatFiles(context.Background(), providers.StatFilesRequest{Items: []providers.FileRef{
		{ID: "msg:m1"}, {ID: "msg:p1"}, {ID: "att:p1/1"}, {Path: "/INBOX"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// m1 is in INBOX and Invoices: only Invoices is configured, so that is
	// its folder.
	if it := res.Items[0]; it.Err != nil || it.Item.Path != "/Invoices/Invoice 42 March (2026-03-03 08:15 UTC)" {
		t.Errorf("m1: %+v", it)
	}
	for _, it := range res.Items[1:] {
		if it.Err == nil || it.Err.Code != providers.CodeNotFound {
			t.Errorf("outside the configured labels: %+v", it)
		}
	}
}

// TestFilesWholeCallErrors: rate limits and auth failures fail the whole
// call, with the Retry-After passed on and no token in the message.
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
		name   string
		fail   func(http.ResponseWriter, *http.Request) bool
		folder providers.FileRef
		stat   []providers.FileRef
		code   providers.Code
		retry  time.Duration
	}{
		{name: "labels 429", fail: fail("/gmail/v1/users/me/labels", 429, "rateLimitExceeded", "Retry-After", "30"),
			folder: providers.FileRef{Path: "/"}, stat: []providers.FileRef{{Path: "/INBOX"}}, retry: 30 * time.Second},
		{name: "messages.get 429 while naming a page", fail: fail("/gmail/v1/users/me/messages/", 429, "rateLimitExceeded", "Retry-After", "30"),
			folder: providers.FileRef{Path: "/Archive"}, stat: []providers.FileRef{{ID: "label:INBOX"}, {ID: "msg:m1"}}, retry: 30 * time.Second},
		{name: "messages.list 403 user rate limit", fail: fail("/gmail/v1/users/me/messages", 403, "userRateLimitExceeded", "Retry-After", "30"),
			folder: providers.FileRef{ID: "label:INBOX"}, stat: []providers.FileRef{{ID: "att:m1/1"}}, retry: 30 * time.Second},
		{name: "401", fail: fail("/gmail/v1/", 401, "authError"),
			folder: providers.FileRef{ID: "msg:m1"}, stat: []providers.FileRef{{ID: "msg:m1"}}, code: providers.CodeAuthFailed},
	}
	for _, tc := range cases {
		check := func(t *testing.T, err error) {
			var pe *providers.Error
			if tc.retry > 0 {
				pe = providertest.WantRateLimited(t, err, tc.retry)
			} else {
				pe = providertest.WantCode(t, err, tc.code)
			}
			if strings.Contains(pe.Message, accessToken) {
				t.Errorf("message leaks the access token: %s", pe.Message)
			}
		}
		t.Run(tc.name+"/list", func(t *testing.T) {
			f := newMailFake(t)
			f.fail = tc.fail
			_, err := f.open(t, nil).ListFiles(context.Background(), providers.ListFilesRequest{Folder: tc.folder, PageSize: 10})
			check(t, err)
		})
		t.Run(tc.name+"/stat", func(t *testing.T) {
			f := newMailFake(t)
			f.fail = tc.fail
			_, err := f.open(t, nil).StatFiles(context.Background(), providers.StatFilesRequest{Items: tc.stat})
			check(t, err)
		})
	}
}

func TestMessageName(t *testing.T) {
	cases := []struct {
		subject, date string
		internal      int64
		want          string
	}{
		{"Hello", "Tue, 3 Mar 2026 09:15:00 +0100", 0, "Hello (2026-03-03 08:15 UTC)"},
		{"", "Tue, 3 Mar 2026 09:15:00 +0100", 0, "(no subject) (2026-03-03 08:15 UTC)"},
		{"  Multi\r\n\tline  ", "nonsense", 1772525700000, "Multi line (2026-03-03 08:15 UTC)"},
		{"Undated", "", 0, "Undated"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			m := &gmail.Message{InternalDate: tc.internal, Payload: &gmail.MessagePart{Headers: []*gmail.MessagePartHeader{
				{Name: "subject", Value: tc.subject}, {Name: "DATE", Value: tc.date},
			}}}
			if got := messageName(m); got != tc.want {
				t.Errorf("messageName = %q, want %q", got, tc.want)
			}
		})
	}
}
