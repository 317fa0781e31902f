package dropbox

import (
	"context"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.FileLister = (*conn)(nil)
	_ providers.FileStater = (*conn)(nil)
	_ providers.FileWalker = (*conn)(nil)
)

const (
	// statConcurrency bounds the get_metadata calls of one StatFiles.
	statConcurrency = 8
	// walkLimit is the page size of a recursive walk (Dropbox's largest).
	walkLimit = 2000
)

// metadata is the part of a Dropbox Metadata (file, folder or deleted) the
// files calls read.
type metadata struct {
	Tag            string     `json:".tag"`
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	PathLower      string     `json:"path_lower"`
	PathDisplay    string     `json:"path_display"`
	Size           *int64     `json:"size"`
	ServerModified *time.Time `json:"server_modified"`
}

// listArgs are the arguments of files/list_folder.
type listArgs struct {
	Path                  string `json:"path"`
	Recursive             bool   `json:"recursive"`
	Limit                 int    `json:"limit"`
	IncludeMountedFolders bool   `json:"include_mounted_folders"`
}

// listResult is the answer of files/list_folder and its continue.
type listResult struct {
	Entries []metadata `json:"entries"`
	Cursor  string     `json:"cursor"`
	HasMore bool       `json:"has_more"`
}

// pathArg is the argument of files/get_metadata.
type pathArg struct {
	Path string `json:"path"`
}

// cursorArg is the argument of files/list_folder/continue.
type cursorArg struct {
	Cursor string `json:"cursor"`
}

// ListFiles lists one folder below root_path a page at a time:
// files/list_folder (not recursive, mounted folders included), then
// files/list_folder/continue with Dropbox's cursor.
func (c *conn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	what := "the folder " + req.Folder.String()
	arg, rel, _, err := c.folder(ctx, req.Folder, what)
	if err != nil {
		return nil, err
	}
	var res listResult
	if req.Cursor != "" {
		err = c.rpc(ctx, "files/list_folder/continue", cursorArg{req.Cursor}, what, &res)
	} else {
		size := req.PageSize
		if size <= 0 {
			size = 100
		}
		err = c.rpc(ctx, "files/list_folder", listArgs{Path: arg, Limit: min(size, 1000), IncludeMountedFolders: true}, what, &res)
	}
	if err != nil {
		return nil, err
	}
	page := &providers.FilePage{Path: rel, Items: make([]providers.FileItem, 0, len(res.Entries))}
	if res.HasMore {
		page.Cursor = res.Cursor
	}
	for _, e := range res.Entries {
		if e.Tag == "file" || e.Tag == "folder" {
			page.Items = append(page.Items, e.fileItem(providers.JoinPath(rel, e.Name)))
		}
	}
	return page, nil
}

// StatFiles describes each item on its own with files/get_metadata, at most
// eight at a time. An item that is missing, outside root_path or refused is
// reported in its FileStat; any other failure fails the call.
func (c *conn) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	return providers.StatEach(ctx, name, req.Items, statConcurrency, func(ctx context.Context, ref providers.FileRef) (providers.FileItem, error) {
		what := "the item " + ref.String()
		if ref.ID != "" {
			md, rel, err := c.byID(ctx, ref.ID, what)
			if err != nil {
				return providers.FileItem{}, err
			}
			return md.fileItem(rel), nil
		}
		p := c.upstream(ref.Path)
		if p == "" {
			// get_metadata does not describe the account's root.
			return providers.FileItem{ID: "/", Kind: providers.FileKindFolder, Path: "/"}, nil
		}
		var md metadata
		if err := c.rpc(ctx, "files/get_metadata", pathArg{p}, what, &md); err != nil {
			return providers.FileItem{}, err
		}
		return md.fileItem(ref.Path), nil
	})
}

// WalkFiles lists every file below a folder with files/list_folder
// recursive: true and its continue, handing each file to fn as its page
// arrives, with its depth below the folder (path segments).
func (c *conn) WalkFiles(ctx context.Context, req providers.WalkFilesRequest, fn providers.WalkFunc) error {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	what := "the folder " + req.Folder.String()
	arg, _, base, err := c.folder(ctx, req.Folder, what)
	if err != nil {
		return err
	}
	baseDepth := strings.Count(base, "/")
	endpoint, args := "files/list_folder", any(listArgs{Path: arg, Recursive: true, Limit: walkLimit, IncludeMountedFolders: true})
	for {
		var res listResult
		if err := c.rpc(ctx, endpoint, args, what, &res); err != nil {
			return err
		}
		for _, e := range res.Entries {
			depth := strings.Count(e.PathLower, "/") - baseDepth
			rel, ok := c.below(e)
			if e.Tag != "file" || depth < 1 || !ok {
				continue
			}
			if err := fn(e.fileItem(rel), depth); err != nil {
				return err
			}
		}
		if !res.HasMore {
			return nil
		}
		endpoint, args = "files/list_folder/continue", cursorArg{res.Cursor}
	}
}

// folder resolves a folder ref: the path Dropbox is given (root_path+path,
// or "id:..."), its path below the root, and its lower-case path from the
// account's root (its depth counts walk depths).
func (c *conn) folder(ctx context.Context, ref providers.FileRef, what string) (arg, rel, lower string, err error) {
	if ref.ID == "" {
		arg = c.upstream(ref.Path)
		return arg, ref.Path, strings.ToLower(arg), nil
	}
	md, rel, err := c.byID(ctx, ref.ID, what)
	if err != nil {
		return "", "", "", err
	}
	if md.Tag != "folder" {
		return "", "", "", providers.Errorf(providers.CodeNotFound, "%s: %s is not a folder", name, what)
	}
	return "id:" + ref.ID, rel, md.PathLower, nil
}

// byID reads the metadata of the item "id:"+id and its path below the root;
// an item outside root_path is not found.
func (c *conn) byID(ctx context.Context, id, what string) (*metadata, string, error) {
	if strings.ContainsAny(id, "/\\ \t\r\n") {
		return nil, "", providers.Errorf(providers.CodeNotFound, "%s: %s was not found", name, what)
	}
	var md metadata
	if err := c.rpc(ctx, "files/get_metadata", pathArg{"id:" + id}, what, &md); err != nil {
		return nil, "", err
	}
	rel, ok := c.below(md)
	if !ok || md.Tag == "deleted" {
		return nil, "", providers.Errorf(providers.CodeNotFound, "%s: %s was not found below root_path", name, what)
	}
	return &md, rel, nil
}

// upstream is the Dropbox path of p below root_path: "" for the account's
// root.
func (c *conn) upstream(p string) string {
	if p == "/" {
		return c.root
	}
	return c.root + p
}

// below returns the path of md below root_path, the display path less the
// root's segments; false when md lies outside root_path (by path_lower, as
// Dropbox compares paths) or has no path (an unmounted folder).
func (c *conn) below(md metadata) (string, bool) {
	root := strings.ToLower(c.root)
	if md.PathLower == "" || (md.PathLower != root && !strings.HasPrefix(md.PathLower, root+"/")) {
		return "", false
	}
	segs := strings.Split(md.PathDisplay, "/")
	skip := strings.Count(c.root, "/") + 1
	if len(segs) < skip || segs[0] != "" {
		return "", false
	}
	return "/" + strings.Join(segs[skip:], "/"), true
}

// fileItem is md as a FileItem at p; the item's id is Dropbox's own
// ("id:..."), which FileRef.ID then carries without the prefix.
func (md metadata) fileItem(p string) providers.FileItem {
	fi := providers.FileItem{ID: "id:" + strings.TrimPrefix(md.ID, "id:"), Kind: providers.FileKindFolder, Name: md.Name, Path: p}
	if md.Tag == "file" {
		fi.Kind, fi.Size, fi.ModifiedAt = providers.FileKindFile, md.Size, md.ServerModified
		if t, _, _ := strings.Cut(mime.TypeByExtension(path.Ext(md.Name)), ";"); t != "" {
			fi.MimeType = &t
		}
	}
	return fi
}
