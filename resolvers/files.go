package resolvers

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// Page sizes of a files listing.
const (
	DefaultFilesPageSize = 100
	MaxFilesPageSize     = 1000
	// MaxSelectedItems is the most items one validation takes.
	MaxSelectedItems = 1000
)

// FilesInput asks for one page of a folder: Path is a slash path below the
// connection's root or "id:<native id>" ("" is the root), PageToken the
// nextPageToken of the previous page.
type FilesInput struct {
	Path      string
	PageToken *string
	PageSize  int
}

// ListFiles is the files use case for a connection id (the REST shim's
// entry point): one page of a folder.
func (r *Resolver) ListFiles(ctx context.Context, id string, in FilesInput) (*model.FilePage, error) {
	c, err := r.loadUsable(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.listFiles(ctx, c, in)
}

// ValidateFileSelection is the validation use case for a connection id.
func (r *Resolver) ValidateFileSelection(ctx context.Context, id string, selected []string) (*model.FileSelectionValidation, error) {
	c, err := r.loadUsable(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.validateSelection(ctx, c, selected)
}

func (r *Resolver) listFiles(ctx context.Context, c *store.Connection, in FilesInput) (*model.FilePage, error) {
	var problems []FieldError
	ref, err := providers.ParseFileRef(in.Path)
	if err != nil {
		problems = append(problems, FieldError{Loc: []any{"path"}, Msg: "Value error, path must be a slash path or id:<id> without NUL bytes", Type: "value_error"})
	}
	if in.PageSize < 1 || in.PageSize > MaxFilesPageSize {
		msg := "Input should be greater than or equal to 1"
		typ := "greater_than_equal"
		if in.PageSize > MaxFilesPageSize {
			msg, typ = fmt.Sprintf("Input should be less than or equal to %d", MaxFilesPageSize), "less_than_equal"
		}
		problems = append(problems, FieldError{Loc: []any{"pageSize"}, Msg: msg, Type: typ})
	}
	cursor := ""
	if in.PageToken != nil && *in.PageToken != "" && err == nil {
		var ok bool
		if cursor, ok = r.openPageToken(c.ID, ref, *in.PageToken); !ok {
			problems = append(problems, FieldError{Loc: []any{"pageToken"}, Msg: "Value error, the page token is invalid, or was made for another connection or path", Type: "value_error"})
		}
	}
	if len(problems) > 0 {
		return nil, invalid(problems...)
	}
	u, err := r.use(ctx, c, providers.CapFiles)
	if err != nil {
		return nil, err
	}
	defer u.release()
	ctx, done, err := r.providerCall(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	defer done()
	page, err := u.conn.(providers.FileLister).ListFiles(ctx, providers.ListFilesRequest{Folder: ref, Cursor: cursor, PageSize: in.PageSize})
	if err != nil {
		return nil, u.fail(c.Provider, err)
	}
	out := &model.FilePage{Items: make([]*model.FileItem, len(page.Items)), Path: page.Path}
	if out.Path == "" {
		out.Path = ref.String()
	}
	for i, it := range page.Items {
		out.Items[i] = fileItem(it)
	}
	if page.Cursor != "" {
		tok := r.pageToken(c.ID, ref, page.Cursor)
		out.NextPageToken = &tok
	}
	return out, nil
}

// providerDeadline bounds one provider call by the provider timeout.
func (r *Resolver) providerDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.ProviderTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, r.ProviderTimeout)
}

func fileItem(it providers.FileItem) *model.FileItem {
	m := &model.FileItem{ID: it.ID, Kind: model.FileKind(it.Kind), MimeType: it.MimeType, Name: it.Name, Path: it.Path, Size: it.Size}
	if it.ModifiedAt != nil {
		t := it.ModifiedAt.UTC()
		m.ModifiedAt = &t
	}
	if m.Kind == model.FileKindFolder {
		m.Size, m.MimeType = nil, nil
	}
	return m
}

// pageTokenMAC is how many bytes of the MAC a page token carries.
const pageTokenMAC = 16

// pageToken wraps a driver's upstream cursor in an opaque token bound to the
// connection and the folder, so a token replayed elsewhere or tampered with
// is refused before any upstream sees it.
func (r *Resolver) pageToken(connID string, folder providers.FileRef, cursor string) string {
	mac := r.Store.Keys().MAC("files/page", connID, folder.String(), cursor)[:pageTokenMAC]
	return base64.RawURLEncoding.EncodeToString(append(mac, cursor...))
}

// openPageToken returns the cursor inside tok when tok was made for this
// connection and folder.
func (r *Resolver) openPageToken(connID string, folder providers.FileRef, tok string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) <= pageTokenMAC {
		return "", false
	}
	cursor := string(raw[pageTokenMAC:])
	want := r.Store.Keys().MAC("files/page", connID, folder.String(), cursor)[:pageTokenMAC]
	if !hmac.Equal(raw[:pageTokenMAC], want) {
		return "", false
	}
	return cursor, true
}

// The violation codes of a selection.
const (
	violationNotFound         = "not_found"
	violationPermissionDenied = "permission_denied"
	violationOutsideRoot      = "outside_root"
	violationTooManyItems     = "too_many_items"
	violationTooDeep          = "too_deep"
	violationTimeout          = "timeout"
)

// errLimit stops a walk that passed a limit; the violation is recorded.
var errLimit = errors.New("selection limit reached")

// walkConcurrency is how many folders one validation lists at once.
const walkConcurrency = 8

// tally counts a selection as the walk streams through it: only totals are
// kept, never the tree.
type tally struct {
	limits     Limits
	mu         sync.Mutex
	items      int
	bytes      int64
	maxDepth   int
	violations []indexedViolation
	stopped    bool
}

type indexedViolation struct {
	index int
	v     *model.FileViolation
}

func (t *tally) violate(index int, item, code, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.violations = append(t.violations, indexedViolation{index, &model.FileViolation{Item: item, Code: code, Message: msg}})
}

// file counts one file at depth below selected item index; it returns
// errLimit once a limit is passed (and records which).
func (t *tally) file(index int, item string, size *int64, depth int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return errLimit
	}
	if depth > t.limits.FilesMaxDepth {
		t.stopped = true
		t.violations = append(t.violations, indexedViolation{index, &model.FileViolation{Item: item, Code: violationTooDeep,
			Message: fmt.Sprintf("%s holds files deeper than %d levels, the limit of this server; the walk stopped there", item, t.limits.FilesMaxDepth)}})
		return errLimit
	}
	if t.items >= t.limits.FilesMaxItems {
		t.stopped = true
		t.violations = append(t.violations, indexedViolation{index, &model.FileViolation{Item: item, Code: violationTooManyItems,
			Message: fmt.Sprintf("the selection holds more than %d files, the limit of this server; the walk stopped at %s", t.limits.FilesMaxItems, item)}})
		return errLimit
	}
	t.items++
	if size != nil {
		t.bytes += *size
	}
	t.maxDepth = max(t.maxDepth, depth)
	return nil
}

func (r *Resolver) validateSelection(ctx context.Context, c *store.Connection, selected []string) (*model.FileSelectionValidation, error) {
	if len(selected) < 1 || len(selected) > MaxSelectedItems {
		msg, typ := "List should have at least 1 item after validation, not 0", "too_short"
		if len(selected) > MaxSelectedItems {
			msg, typ = fmt.Sprintf("List should have at most %d items after validation, not %d", MaxSelectedItems, len(selected)), "too_long"
		}
		return nil, invalid(FieldError{Loc: []any{"selectedItems"}, Msg: msg, Type: typ})
	}
	lim := r.limits()
	t := &tally{limits: lim}
	refs := make([]providers.FileRef, 0, len(selected))
	index := make([]int, 0, len(selected))
	for i, s := range selected {
		switch ref, err := providers.ParseFileRef(s); {
		case err != nil:
			t.violate(i, s, violationNotFound, fmt.Sprintf("%q is not a path or id:<id>", s))
		case climbsOutOfRoot(s):
			t.violate(i, s, violationOutsideRoot, fmt.Sprintf("%s climbs above the connection's root; nothing outside the root is counted", s))
		default:
			refs = append(refs, ref)
			index = append(index, i)
		}
	}
	u, err := r.use(ctx, c, providers.CapFiles)
	if err != nil {
		return nil, err
	}
	defer u.release()
	ctx, cancel := context.WithTimeout(ctx, lim.FilesTimeout)
	defer cancel()
	if len(refs) > 0 {
		// The whole walk is one provider operation.
		admitted, err := r.admit(ctx, c.TenantID)
		if err != nil {
			return nil, err
		}
		defer admitted()
		if err := r.walkSelection(ctx, u, t, selected, refs, index); err != nil {
			return nil, u.fail(c.Provider, err)
		}
	}
	out := &model.FileSelectionValidation{TotalItems: t.items, TotalBytes: int(t.bytes), MaxDepth: t.maxDepth, Violations: []*model.FileViolation{}}
	slices.SortStableFunc(t.violations, func(a, b indexedViolation) int { return a.index - b.index })
	for _, v := range t.violations {
		out.Violations = append(out.Violations, v.v)
	}
	out.Valid = len(out.Violations) == 0
	return out, nil
}

// climbsOutOfRoot reports whether a selected path uses ".." to climb above
// the root (a listing resolves such a path inside the root; a selection
// says so instead of silently counting something else).
func climbsOutOfRoot(s string) bool {
	if strings.HasPrefix(s, "id:") {
		return false
	}
	return strings.HasPrefix(path.Clean(strings.TrimLeft(s, "/")), "..")
}

// walkSelection stats the selected items, counts files, and walks folders
// recursively: with the driver's FileWalker when it has one, else folder by
// folder through ListFiles with bounded concurrency. Per-item problems and
// limits become violations; a failure of the whole provider (auth, network,
// rate limits) is returned.
func (r *Resolver) walkSelection(ctx context.Context, u *usedConn, t *tally, selected []string, refs []providers.FileRef, index []int) error {
	release, err := r.providerSlot(ctx)
	if err != nil {
		return err
	}
	stats, err := u.conn.(providers.FileStater).StatFiles(ctx, providers.StatFilesRequest{Items: refs})
	release()
	if err != nil {
		return r.walkErr(ctx, t, index[0], selected[index[0]], err)
	}
	if len(stats.Items) != len(refs) {
		return fmt.Errorf("%s: StatFiles returned %d items for %d", u.row.Provider, len(stats.Items), len(refs))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(walkConcurrency)
	for k, st := range stats.Items {
		i, item := index[k], selected[index[k]]
		switch {
		case st.Err != nil:
			code := violationNotFound
			switch {
			case st.Err.Code == providers.CodePermissionDenied:
				code = violationPermissionDenied
			case errors.Is(st.Err, providers.ErrOutsideRoot):
				code = violationOutsideRoot
			}
			t.violate(i, item, code, providers.Redact(st.Err.Message, u.secrets))
		case st.Item.Kind == providers.FileKindFile:
			if err := t.file(i, item, st.Item.Size, 0); err != nil {
				return nil
			}
		default:
			folder := refs[k]
			if st.Item.ID != "" && folder.ID == "" && strings.HasPrefix(st.Item.ID, "id:") {
				folder = providers.FileRef{ID: strings.TrimPrefix(st.Item.ID, "id:")}
			}
			g.Go(func() error { return r.walkFolder(gctx, u, t, i, item, folder) })
		}
	}
	if err := g.Wait(); err != nil && !errors.Is(err, errLimit) {
		return r.walkErr(ctx, t, -1, "", err)
	}
	return nil
}

// walkErr turns the walk's deadline into a timeout violation; other errors
// are returned.
func (r *Resolver) walkErr(ctx context.Context, t *tally, index int, item string, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || providers.IsCode(err, providers.CodeTimeout)) {
		t.mu.Lock()
		t.stopped = true
		t.violations = append(t.violations, indexedViolation{index, &model.FileViolation{Item: item, Code: violationTimeout,
			Message: fmt.Sprintf("the walk did not finish within %s, the limit of this server; the counts are partial", t.limits.FilesTimeout)}})
		t.mu.Unlock()
		return nil
	}
	return err
}

// walkFolder counts every file below one selected folder.
func (r *Resolver) walkFolder(ctx context.Context, u *usedConn, t *tally, index int, item string, folder providers.FileRef) error {
	if w, ok := u.conn.(providers.FileWalker); ok {
		release, err := r.providerSlot(ctx)
		if err != nil {
			return err
		}
		defer release()
		err = w.WalkFiles(ctx, providers.WalkFilesRequest{Folder: folder, MaxDepth: t.limits.FilesMaxDepth}, func(it providers.FileItem, depth int) error {
			return t.file(index, item, it.Size, depth)
		})
		return r.itemErr(ctx, t, index, item, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(walkConcurrency)
	var visit func(ref providers.FileRef, depth int) error
	visit = func(ref providers.FileRef, depth int) error {
		lister := u.conn.(providers.FileLister)
		for cursor := ""; ; {
			release, err := r.providerSlot(gctx)
			if err != nil {
				return err
			}
			page, err := lister.ListFiles(gctx, providers.ListFilesRequest{Folder: ref, Cursor: cursor, PageSize: MaxFilesPageSize})
			release()
			if err != nil {
				return r.itemErr(gctx, t, index, item, err)
			}
			for _, it := range page.Items {
				if it.Kind == providers.FileKindFile {
					if err := t.file(index, item, it.Size, depth+1); err != nil {
						return err
					}
					continue
				}
				if depth+1 > t.limits.FilesMaxDepth {
					// A folder past the limit: anything in it is too deep.
					if err := t.file(index, item, nil, depth+2); err != nil {
						return err
					}
				}
				child := childRef(it)
				next := func() error { return visit(child, depth+1) }
				if !g.TryGo(next) {
					if err := next(); err != nil {
						return err
					}
				}
			}
			if cursor = page.Cursor; cursor == "" {
				return nil
			}
		}
	}
	g.Go(func() error { return visit(folder, 0) })
	return g.Wait()
}

// childRef addresses a listed folder the way its listing named it.
func childRef(it providers.FileItem) providers.FileRef {
	if id, ok := strings.CutPrefix(it.ID, "id:"); ok {
		return providers.FileRef{ID: id}
	}
	return providers.FileRef{Path: it.Path}
}

// itemErr records a per-item failure met during a walk (the folder vanished
// or is not readable) as a violation and goes on; anything else stops it.
func (r *Resolver) itemErr(ctx context.Context, t *tally, index int, item string, err error) error {
	switch {
	case err == nil || errors.Is(err, errLimit):
		return err
	case providers.IsCode(err, providers.CodeNotFound):
		t.violate(index, item, violationNotFound, fmt.Sprintf("%s changed while it was counted: part of it was not found", item))
		return nil
	case providers.IsCode(err, providers.CodePermissionDenied):
		t.violate(index, item, violationPermissionDenied, fmt.Sprintf("part of %s cannot be read with these credentials", item))
		return nil
	}
	return r.walkErr(ctx, t, index, item, err)
}
