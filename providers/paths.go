package providers

import (
	"errors"
	"path"
	"strings"
)

// ErrOutsideRoot is wrapped by a driver's CodeNotFound error for an item
// that exists but resolves outside the connection's root (a symlink pointing
// out); a selection reports it as outside_root.
var ErrOutsideRoot = errors.New("resolves outside the connection's root")

// ErrBadPath is returned by CleanPath and ParseFileRef for a path that cannot
// name anything (a NUL byte, an empty id).
var ErrBadPath = errors.New("invalid path")

// CleanPath returns p as a clean slash path below a root: "/" for the root,
// otherwise "/a/b" with no trailing slash, no empty, "." or ".." segments.
// ".." never climbs above the root: "/../etc" is "/etc", inside the root.
// Percent signs are not decoded (the HTTP layer decoded the query once, so
// "%2e%2e" is a literal name). A NUL byte is ErrBadPath.
func CleanPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", ErrBadPath
	}
	return path.Clean("/" + p), nil
}

// ParseFileRef reads the API's form of an item: "id:<native id>" or a slash
// path below the root ("" is the root).
func ParseFileRef(s string) (FileRef, error) {
	if id, ok := strings.CutPrefix(s, "id:"); ok {
		if id == "" || strings.IndexByte(id, 0) >= 0 {
			return FileRef{}, ErrBadPath
		}
		return FileRef{ID: id}, nil
	}
	p, err := CleanPath(s)
	if err != nil {
		return FileRef{}, err
	}
	return FileRef{Path: p}, nil
}

// JoinPath joins a clean path (CleanPath) to a folder path, for drivers that
// build a child's path: JoinPath("/", "a") is "/a", JoinPath("/a", "b") is
// "/a/b".
func JoinPath(folder, name string) string {
	return path.Join("/", folder, name)
}
