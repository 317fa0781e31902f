package sftp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/pkg/sftp"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.FileLister = (*conn)(nil)
	_ providers.FileStater = (*conn)(nil)
)

const (
	// defaultPageSize is used when a request asks for no page size.
	defaultPageSize = 100
	// maxPageSize is the most items in one page.
	maxPageSize = 1000
	// maxLinks is the most symlinks followed to resolve one path, as Linux's
	// ELOOP limit.
	maxLinks = 40
	// parallel is how many paths (the items of a stat, the symlinks of a
	// page, the prefixes of one path) are resolved at once; the requests
	// are pipelined on the one session.
	parallel = 16
	// maxCursorName is the longest name a cursor may carry.
	maxCursorName = 4096
)

// Reasons a path does not resolve to something inside the root; all are
// reported as CodeNotFound.
var (
	errOutside = fmt.Errorf("resolves outside base_path: %w", providers.ErrOutsideRoot)
	errNotDir  = errors.New("a path component is not a folder")
	errLoop    = errors.New("too many levels of symbolic links")
)

// ListFiles lists one page of a folder below base_path. SFTP has no paging:
// every page reads the folder, sorts the names byte-wise and returns the
// entries after the cursor, which is the last name of the previous page.
// Symlinks are followed; one that resolves outside base_path (or nowhere)
// is left out.
func (c *conn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	rel, err := c.refPath(req.Folder)
	if err != nil {
		return nil, err
	}
	size := req.PageSize
	switch {
	case size <= 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	var after string
	if req.Cursor != "" {
		if after, err = decodeCursor(req.Cursor); err != nil {
			return nil, err
		}
	}
	var page *providers.FilePage
	err = c.do(ctx, func(s *session) error {
		var err error
		page, err = c.list(ctx, s, rel, after, size)
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// list reads one page of the folder rel (a clean path below the root).
func (c *conn) list(ctx context.Context, s *session, rel, after string, size int) (*providers.FilePage, error) {
	root, err := c.root(ctx, s)
	if err != nil {
		return nil, err
	}
	real, fi, err := s.resolve(ctx, root, splitPath(rel))
	if err == nil && !within(root, real) {
		err = errOutside
	}
	if err != nil {
		if pe := c.itemError(rel, err); pe != nil {
			return nil, pe
		}
		return nil, fmtErr("resolve", rel, err)
	}
	if !fi.IsDir() {
		return nil, providers.Errorf(providers.CodeNotFound, "sftp: %q is a file, not a folder", rel)
	}
	entries, err := s.readDir(ctx, real)
	if err != nil {
		// The folder resolved a moment ago: only its removal or a refusal
		// is about the item; any other failure is the server's.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, c.itemError(rel, err)
		}
		return nil, fmtErr("read dir", rel, err)
	}
	entries = slices.DeleteFunc(entries, func(e os.FileInfo) bool { return !validName(e.Name()) })
	slices.SortFunc(entries, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	entries = slices.CompactFunc(entries, func(a, b os.FileInfo) bool { return a.Name() == b.Name() })

	i, _ := slices.BinarySearchFunc(entries, after, func(e os.FileInfo, name string) int { return strings.Compare(e.Name(), name) })
	if after != "" && i < len(entries) && entries[i].Name() == after {
		i++
	}
	page := &providers.FilePage{Path: rel, Items: []providers.FileItem{}}
	// Take as many entries as the page has room for; symlinks that lead
	// outside are dropped, so take more until the page is full or the
	// folder ends.
	for i < len(entries) && len(page.Items) < size {
		n := min(size-len(page.Items), len(entries)-i)
		items, err := c.describeEntries(ctx, s, root, real, rel, entries[i:i+n])
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if it != nil {
				page.Items = append(page.Items, *it)
			}
		}
		i += n
	}
	if i < len(entries) {
		page.Cursor = encodeCursor(entries[i-1].Name())
	}
	return page, nil
}

// describeEntries turns directory entries into items, resolving symlinks
// concurrently. A nil item is an entry left out (a symlink pointing outside
// the root, dangling, looping or unreadable).
func (c *conn) describeEntries(ctx context.Context, s *session, root, dirReal, rel string, entries []os.FileInfo) ([]*providers.FileItem, error) {
	items := make([]*providers.FileItem, len(entries))
	var links []int
	for k, e := range entries {
		if e.Mode()&fs.ModeSymlink != 0 {
			links = append(links, k)
			continue
		}
		it := item(providers.JoinPath(rel, e.Name()), e)
		items[k] = &it
	}
	// Each call runs on ctx, not ForEach's: a failure stops new calls but
	// lets the started ones finish their requests on the session.
	err := providers.ForEach(ctx, len(links), parallel, func(_ context.Context, j int) error {
		k := links[j]
		name := entries[k].Name()
		real, fi, err := s.resolve(ctx, dirReal, []string{name})
		if err == nil && !within(root, real) {
			err = errOutside
		}
		if err != nil {
			if c.itemError(rel, err) != nil {
				return nil // left out
			}
			return fmtErr("resolve", providers.JoinPath(rel, name), err)
		}
		it := item(providers.JoinPath(rel, name), fi)
		items[k] = &it
		return nil
	})
	return items, err
}

// StatFiles describes each requested item on its own: a missing, unreadable
// or outside item gets its own error; only a failure of the session fails
// the call.
func (c *conn) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	out := make([]providers.FileStat, len(req.Items))
	rels := make([]string, len(req.Items))
	todo := make([]int, 0, len(req.Items))
	for k, ref := range req.Items {
		rel, err := c.refPath(ref)
		if err != nil {
			out[k].Err = providers.Classify("sftp", err)
			continue
		}
		rels[k] = rel
		todo = append(todo, k)
	}
	if len(todo) == 0 {
		return &providers.StatFilesResult{Items: out}, nil
	}
	err := c.do(ctx, func(s *session) error {
		root, err := c.root(ctx, s)
		if err != nil {
			return err
		}
		return providers.ForEach(ctx, len(todo), parallel, func(_ context.Context, j int) error {
			k := todo[j]
			rel := rels[k]
			real, fi, err := s.resolve(ctx, root, splitPath(rel))
			if err == nil && !within(root, real) {
				err = errOutside
			}
			if err != nil {
				pe := c.itemError(rel, err)
				if pe == nil {
					return fmtErr("stat", rel, err)
				}
				out[k] = providers.FileStat{Err: pe}
				return nil
			}
			out[k] = providers.FileStat{Item: item(rel, fi)}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return &providers.StatFilesResult{Items: out}, nil
}

// refPath returns the clean path below the root that ref names. SFTP has
// no ids, so an ID names nothing.
func (c *conn) refPath(ref providers.FileRef) (string, error) {
	if ref.ID != "" {
		return "", providers.Errorf(providers.CodeNotFound, "sftp: items are addressed by path; sftp has no ids (got id:%q)", ref.ID)
	}
	// Cleaned again so that no caller can pass ".." through.
	rel, err := providers.CleanPath(ref.Path)
	if err != nil {
		return "", providers.Wrap(providers.CodeNotFound, err, "sftp: %q is not a valid path", ref.Path)
	}
	return rel, nil
}

// root returns base_path's real path on this session, resolving it on
// first use. A relative base_path is relative to the login folder.
func (c *conn) root(ctx context.Context, s *session) (string, error) {
	s.rootMu.Lock()
	root := s.root
	s.rootMu.Unlock()
	if root != "" {
		return root, nil
	}
	base := c.cfg.String("base_path")
	if base == "" {
		base = "/"
	}
	abs := path.Clean(base)
	if !path.IsAbs(abs) {
		p, err := s.realpath(ctx, base)
		if err != nil {
			return "", c.baseError(base, err)
		}
		abs = path.Clean("/" + p)
	}
	real, _, err := s.resolve(ctx, "/", splitPath(abs))
	if err != nil {
		if c.itemError(base, err) == nil {
			return "", fmtErr("resolve base_path", base, err)
		}
		// Some servers refuse to describe the folders above the user's own.
		// base_path itself may still be reachable: then it is the root as
		// written, which is stricter than its real path (a symlink into it
		// by its real path is then taken for outside, never the reverse).
		if _, serr := s.stat(ctx, abs); serr != nil {
			return "", c.baseError(base, serr)
		}
		real = abs
	}
	s.rootMu.Lock()
	s.root = real
	s.rootMu.Unlock()
	return real, nil
}

// baseError reports why base_path cannot be used.
func (c *conn) baseError(base string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return providers.Wrap(providers.CodePermissionDenied, err, "sftp: user %q may not read base_path %q", c.cfg.String("username"), base)
	case c.itemError(base, err) != nil:
		return providers.Wrap(providers.CodeNotFound, err, "sftp: base_path %q does not exist on %s", base, c.addr)
	}
	return fmtErr("resolve base_path", base, err)
}

// itemError classifies a failure that concerns only the item rel (a path
// below the root): CodeNotFound or CodePermissionDenied. It returns nil for
// failures of the session itself.
func (c *conn) itemError(rel string, err error) *providers.Error {
	var pe *providers.Error
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errNotDir):
		return providers.Wrap(providers.CodeNotFound, err, "sftp: %q does not exist", rel)
	case errors.Is(err, errOutside):
		return providers.Wrap(providers.CodeNotFound, err, "sftp: %q does not exist (it resolves outside base_path)", rel)
	case errors.Is(err, errLoop):
		return providers.Wrap(providers.CodeNotFound, err, "sftp: %q does not exist (too many levels of symbolic links)", rel)
	case errors.Is(err, fs.ErrPermission):
		return providers.Wrap(providers.CodePermissionDenied, err, "sftp: user %q may not read %q", c.cfg.String("username"), rel)
	}
	var se *sftp.StatusError
	if errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxFailure {
		// A generic failure status about this path (not a folder, name too
		// long, an I/O error on one file): the session is fine.
		return providers.Wrap(providers.CodeNotFound, err, "sftp: %q could not be read: the server reported a failure", rel)
	}
	return nil
}

// resolve returns the real path of dir joined with rest (dir is a real,
// absolute path: no symlinks in it) and what it names, following every
// symlink on the way, as realpath(3) does, but over SFTP so that it does not
// depend on the server's REALPATH following links. The prefixes are
// described concurrently (one round trip when there is no symlink); after a
// symlink the walk starts again from its target.
func (s *session) resolve(ctx context.Context, dir string, rest []string) (string, os.FileInfo, error) {
	links := 0
	for {
		// Walk rest lexically: before the first symlink every prefix is
		// real, so ".." is simply the parent.
		var steps []string
		var idx []int
		cur := dir
		for i, name := range rest {
			switch name {
			case "", ".":
				continue
			case "..":
				cur = path.Dir(cur)
				continue
			}
			cur = path.Join(cur, name)
			steps = append(steps, cur)
			idx = append(idx, i)
		}
		final := cur
		fis, errs := s.lstatAll(ctx, steps)
		restart := false
		for k, p := range steps {
			if errs[k] != nil {
				return "", nil, errs[k]
			}
			fi := fis[k]
			if fi.Mode()&fs.ModeSymlink != 0 {
				if links++; links > maxLinks {
					return "", nil, errLoop
				}
				target, err := s.readlink(ctx, p)
				if err != nil {
					return "", nil, err
				}
				if target == "" {
					return "", nil, fs.ErrNotExist
				}
				dir = path.Dir(p)
				if path.IsAbs(target) {
					dir = "/"
				}
				rest = append(strings.Split(target, "/"), rest[idx[k]+1:]...)
				restart = true
				break
			}
			last := k == len(steps)-1 && p == final
			if last {
				return p, fi, nil
			}
			if !fi.IsDir() {
				return "", nil, errNotDir
			}
		}
		if restart {
			continue
		}
		// Nothing left to describe (dir itself, or a trailing ".."): final
		// is real already.
		fi, err := s.stat(ctx, final)
		if err != nil {
			return "", nil, err
		}
		return final, fi, nil
	}
}

// lstatAll describes every path, pipelining the requests. A path not
// described because ctx ended has ctx's error.
func (s *session) lstatAll(ctx context.Context, paths []string) ([]os.FileInfo, []error) {
	fis := make([]os.FileInfo, len(paths))
	errs := make([]error, len(paths))
	if err := providers.ForEach(ctx, len(paths), parallel, func(_ context.Context, k int) error {
		fis[k], errs[k] = s.lstat(ctx, paths[k])
		return nil
	}); err != nil {
		for k := range paths {
			if fis[k] == nil && errs[k] == nil {
				errs[k] = err
			}
		}
	}
	return fis, errs
}

// item describes the entry at rel (a path below the root) from its
// attributes, symlinks already followed.
func item(rel string, fi os.FileInfo) providers.FileItem {
	it := providers.FileItem{ID: rel, Path: rel, Name: path.Base(rel), Kind: providers.FileKindFolder}
	if mt := fi.ModTime(); mt.Unix() != 0 {
		t := mt.UTC()
		it.ModifiedAt = &t
	}
	if !fi.IsDir() {
		it.Kind = providers.FileKindFile
		size := fi.Size()
		it.Size = &size
		it.MimeType = mimeType(it.Name)
	}
	return it
}

// mimeType guesses a file's media type from its extension, without
// parameters; nil when the extension is unknown.
func mimeType(name string) *string {
	ext := path.Ext(name)
	if ext == "" {
		return nil
	}
	t, _, _ := strings.Cut(mime.TypeByExtension(ext), ";")
	if t = strings.TrimSpace(t); t == "" {
		return nil
	}
	return &t
}

// within reports whether the absolute path p is root or below it.
func within(root, p string) bool {
	return root == "/" || p == root || strings.HasPrefix(p, root+"/")
}

// splitPath returns the names in a slash path.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// validName reports whether name can be one entry of a folder.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// encodeCursor returns the resume point after name.
func encodeCursor(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name))
}

// decodeCursor reads a cursor made by encodeCursor. Anything else is
// CodeRefused (Junction's page tokens are signed, so this only happens to
// a cursor that did not come from this driver).
func decodeCursor(cursor string) (string, error) {
	if len(cursor) > base64.RawURLEncoding.EncodedLen(maxCursorName) {
		return "", providers.Errorf(providers.CodeRefused, "sftp: the page cursor is not valid")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || !validName(string(b)) {
		return "", providers.Errorf(providers.CodeRefused, "sftp: the page cursor is not valid")
	}
	return string(b), nil
}

// fmtErr wraps err with what was being done to which path.
func fmtErr(op, p string, err error) error {
	return fmt.Errorf("sftp: %s %q: %w", op, p, err)
}
