package googledrive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/api/drive/v3"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.FileLister = (*conn)(nil)
	_ providers.FileStater = (*conn)(nil)
)

// ErrAmbiguous is the cause (Err) of the providers.CodeConflict error for a
// slash path that names two or more siblings of the same name (Drive names
// are not unique), for errors.Is. Its message names the ids to use instead.
var ErrAmbiguous = errors.New("ambiguous path")

// The fields requested from Drive: listFields for a page of a folder,
// fileFields for one file (trashed, because files.get also answers for
// trashed files, which listings leave out).
const (
	listFields = "nextPageToken,files(id,name,mimeType,size,modifiedTime,parents)"
	fileFields = "id,name,mimeType,size,modifiedTime,parents,trashed"
)

// nativePrefix is the MIME type prefix of Google-native documents (Docs,
// Sheets, folders, shortcuts), which have no size in Drive.
const nativePrefix = "application/vnd.google-apps."

// Paging and walking bounds.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// maxDepth bounds the walk from an id up to the root.
	maxDepth = 64
	// statWorkers bounds the concurrent item resolutions of one StatFiles.
	statWorkers = 4
	// maxNamedIDs bounds the ids an ambiguity error names.
	maxNamedIDs = 10
)

// ListFiles lists one page of a Drive folder (files.list over its children,
// trashed files excluded, folders first then by name). The folder is the
// connection's root, a slash path resolved name by name below it, or an id
// that must lie below it. The cursor is Drive's own pageToken.
func (c *conn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	r := c.newResolver()
	loc, err := r.resolve(ctx, req.Folder)
	if err != nil {
		return nil, err
	}
	if loc.file != nil && loc.file.MimeType != folderMimeType {
		return nil, providers.Errorf(providers.CodeNotFound, "google_drive: %s is a file, not a folder", req.Folder)
	}
	size := req.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	call := c.list(fmt.Sprintf("'%s' in parents and trashed=false", escapeQuery(loc.id))).
		Fields(listFields).PageSize(int64(size)).OrderBy("folder,name")
	if req.Cursor != "" {
		call = call.PageToken(req.Cursor)
	}
	fl, err := call.Context(ctx).Do()
	if err != nil {
		return nil, wrap(c.auth.APIError(err), "listing %s", req.Folder)
	}
	page := &providers.FilePage{Path: loc.path, Cursor: fl.NextPageToken, Items: make([]providers.FileItem, 0, len(fl.Files))}
	for _, f := range fl.Files {
		page.Items = append(page.Items, fileItem(f, childPath(loc.path, f.Name)))
	}
	return page, nil
}

// StatFiles describes each item on its own, a few at a time: an item that
// does not exist, lies outside the root or is ambiguous gets its own error
// (not_found, permission_denied, conflict); any other failure (auth, rate
// limits, network) fails the call.
func (c *conn) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	r := c.newResolver()
	out := make([]providers.FileStat, len(req.Items))
	// providers.StatEach would fail the call on a conflict, which concerns
	// one item only.
	err := providers.ForEach(ctx, len(req.Items), statWorkers, func(ctx context.Context, i int) error {
		loc, err := r.resolve(ctx, req.Items[i])
		if err == nil {
			out[i].Item = loc.item()
			return nil
		}
		pe := providers.Classify("google_drive", err)
		switch pe.Code {
		case providers.CodeNotFound, providers.CodePermissionDenied, providers.CodeConflict:
			out[i].Err = pe
			return nil
		}
		return pe
	})
	if err != nil {
		return nil, providers.Classify("google_drive", err)
	}
	return &providers.StatFilesResult{Items: out}, nil
}

// location is a resolved FileRef: the Drive id, the slash path below the
// root, and the file (nil for the root itself).
type location struct {
	id   string
	path string
	file *drive.File
}

// item describes the location; the root is a folder named "" at "/" whose id
// is the configured root.
func (l location) item() providers.FileItem {
	if l.file == nil {
		return providers.FileItem{ID: "id:" + l.id, Kind: providers.FileKindFolder, Path: "/"}
	}
	return fileItem(l.file, l.path)
}

// fileItem turns a Drive file into a FileItem at path. Folders have no size
// or MIME type; Google-native documents have no size.
func fileItem(f *drive.File, path string) providers.FileItem {
	it := providers.FileItem{ID: "id:" + f.Id, Name: f.Name, Path: path, Kind: providers.FileKindFile}
	if t, err := time.Parse(time.RFC3339, f.ModifiedTime); err == nil {
		t = t.UTC()
		it.ModifiedAt = &t
	}
	if f.MimeType == folderMimeType {
		it.Kind = providers.FileKindFolder
		return it
	}
	if f.MimeType != "" {
		mime := f.MimeType
		it.MimeType = &mime
	}
	if !strings.HasPrefix(f.MimeType, nativePrefix) {
		size := f.Size
		it.Size = &size
	}
	return it
}

// childPath is the path of name inside the folder at dir. Drive names may
// contain "/" or be "..": such items keep their name verbatim in the path
// and are reached by id.
func childPath(dir, name string) string {
	return strings.TrimSuffix(dir, "/") + "/" + name
}

// rootIDs returns the configured root (root_folder_id, else the shared
// drive's root, whose id is the drive's, else My Drive's alias "root") and
// the shared drive id, if any.
func (c *conn) rootIDs() (root, driveID string) {
	driveID = strings.TrimSpace(c.cfg.String("shared_drive_id"))
	if root = strings.TrimSpace(c.cfg.String("root_folder_id")); root != "" {
		return root, driveID
	}
	if driveID != "" {
		return driveID, driveID
	}
	return "root", ""
}

// list starts a files.list call with q over every drive the account can
// see, restricted to the shared drive when one is configured.
func (c *conn) list(q string) *drive.FilesListCall {
	call := c.svc.Files.List().Q(q).SupportsAllDrives(true).IncludeItemsFromAllDrives(true)
	if _, driveID := c.rootIDs(); driveID != "" {
		call = call.Corpora("drive").DriveId(driveID)
	}
	return call
}

// resolver resolves FileRefs for one call, remembering the files it fetched
// so the walks of many items to the root share their ancestors.
type resolver struct {
	c       *conn
	root    string // the configured root id ("root" for My Drive)
	mu      sync.Mutex
	realID  string // the root's real id, once known
	fetched map[string]*drive.File
}

func (c *conn) newResolver() *resolver {
	root, _ := c.rootIDs()
	r := &resolver{c: c, root: root, fetched: map[string]*drive.File{}}
	if root != "root" {
		r.realID = root
	}
	return r
}

// resolve finds ref below the root.
func (r *resolver) resolve(ctx context.Context, ref providers.FileRef) (location, error) {
	if ref.ID != "" {
		return r.resolveID(ctx, ref.ID)
	}
	p, err := providers.CleanPath(ref.Path)
	if err != nil {
		return location{}, providers.Wrap(providers.CodeNotFound, err, "google_drive: %q is not a valid path", ref.Path)
	}
	return r.resolvePath(ctx, p)
}

// resolvePath walks a clean path name by name from the root. Only folders
// count for the segments before the last; two candidates for a segment make
// the path ambiguous.
func (r *resolver) resolvePath(ctx context.Context, p string) (location, error) {
	loc := location{id: r.root, path: "/"}
	if p == "/" {
		return loc, nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, name := range segs {
		at := "/" + strings.Join(segs[:i+1], "/")
		matches, err := r.children(ctx, loc.id, name, i < len(segs)-1)
		if err != nil {
			return location{}, wrap(r.c.auth.APIError(err), "resolving %s", at)
		}
		switch len(matches) {
		case 0:
			return location{}, providers.Errorf(providers.CodeNotFound, "google_drive: %s was not found", at)
		case 1:
			loc = location{id: matches[0].Id, path: at, file: matches[0]}
		default:
			return location{}, ambiguous(at, matches)
		}
	}
	return loc, nil
}

// children returns the untrashed children of parent named exactly name
// (the Drive query compares names loosely), only folders when foldersOnly.
func (r *resolver) children(ctx context.Context, parent, name string, foldersOnly bool) ([]*drive.File, error) {
	q := fmt.Sprintf("name='%s' and '%s' in parents and trashed=false", escapeQuery(name), escapeQuery(parent))
	var out []*drive.File
	err := r.c.list(q).Fields(listFields).PageSize(maxPageSize).Pages(ctx, func(fl *drive.FileList) error {
		for _, f := range fl.Files {
			if f.Name == name && (!foldersOnly || f.MimeType == folderMimeType) {
				out = append(out, f)
			}
		}
		return nil
	})
	return out, err
}

// ambiguous is the providers.CodeConflict error for a path with several candidates.
func ambiguous(at string, matches []*drive.File) *providers.Error {
	ids := make([]string, 0, min(len(matches), maxNamedIDs))
	for _, f := range matches[:min(len(matches), maxNamedIDs)] {
		ids = append(ids, "id:"+f.Id)
	}
	more := ""
	if len(matches) > maxNamedIDs {
		more = fmt.Sprintf(" and %d more", len(matches)-maxNamedIDs)
	}
	return &providers.Error{
		Code: providers.CodeConflict,
		Message: fmt.Sprintf("google_drive: the path %s is ambiguous: %d items have that name (%s%s); use one of the ids instead",
			at, len(matches), strings.Join(ids, ", "), more),
		Err: ErrAmbiguous,
	}
}

// resolveID fetches id and walks its parents up to the root, naming the path
// on the way. An id that is missing, trashed, invisible or whose ancestry
// does not reach the root within maxDepth levels is not found. Items with
// several parents (possible before 2020) are walked through the first.
func (r *resolver) resolveID(ctx context.Context, id string) (location, error) {
	outside := func() (location, error) {
		return location{}, providers.Errorf(providers.CodeNotFound,
			"google_drive: id:%s was not found below the connection's root folder", id)
	}
	if id == r.root {
		return location{id: r.root, path: "/"}, nil
	}
	f, err := r.get(ctx, id)
	if err != nil {
		return location{}, r.itemError(err, id)
	}
	if f.Trashed {
		return outside()
	}
	rootID, err := r.realRoot(ctx)
	if err != nil {
		return location{}, err
	}
	if f.Id == rootID {
		return location{id: r.root, path: "/"}, nil
	}
	names := []string{f.Name}
	for cur := f; ; {
		if len(cur.Parents) == 0 || len(names) > maxDepth {
			return outside()
		}
		parent := cur.Parents[0]
		if parent == rootID || parent == r.root {
			break
		}
		next, err := r.get(ctx, parent)
		if err != nil {
			if e := r.c.auth.APIError(err); e.Code == providers.CodeNotFound || e.Code == providers.CodePermissionDenied {
				return outside() // an ancestor the account cannot see is not below the root
			}
			return location{}, wrap(r.c.auth.APIError(err), "resolving id:%s", id)
		}
		if next.Trashed {
			return outside()
		}
		names = append(names, next.Name)
		cur = next
	}
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteString("/")
		b.WriteString(names[i])
	}
	return location{id: f.Id, path: b.String(), file: f}, nil
}

// itemError classifies a failed files.get of a requested id: a 404 says the
// id is not found (below the root), naming it; anything else keeps Google's
// classification.
func (r *resolver) itemError(err error, id string) error {
	e := r.c.auth.APIError(err)
	if e.Code == providers.CodeNotFound {
		e.Message = fmt.Sprintf("google_drive: id:%s was not found below the connection's root folder", id)
		return e
	}
	return wrap(e, "resolving id:%s", id)
}

// get fetches one file, once per resolver.
func (r *resolver) get(ctx context.Context, id string) (*drive.File, error) {
	r.mu.Lock()
	f, ok := r.fetched[id]
	r.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := r.c.svc.Files.Get(id).Fields(fileFields).SupportsAllDrives(true).Context(ctx).Do()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.fetched[id] = f
	r.mu.Unlock()
	return f, nil
}

// realRoot returns the root's real id: the configured id, or for My Drive
// the id behind the "root" alias (which is what children list as parent).
func (r *resolver) realRoot(ctx context.Context) (string, error) {
	r.mu.Lock()
	id := r.realID
	r.mu.Unlock()
	if id != "" {
		return id, nil
	}
	f, err := r.get(ctx, r.root)
	if err != nil {
		return "", wrap(r.c.auth.APIError(err), "looking up the My Drive root folder")
	}
	r.mu.Lock()
	r.realID = f.Id
	r.mu.Unlock()
	return f.Id, nil
}

// escapeQuery escapes a string for a single-quoted Drive query literal.
func escapeQuery(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// wrap prefixes the message of e (after the provider name) with what was
// being done, so a failure says which item it concerns. Codes, retry hints
// and the cause are kept.
func wrap(e *providers.Error, format string, args ...any) *providers.Error {
	msg, ok := strings.CutPrefix(e.Message, "google_drive: ")
	if !ok {
		return e
	}
	out := *e
	out.Message = "google_drive: " + fmt.Sprintf(format, args...) + ": " + msg
	return &out
}
