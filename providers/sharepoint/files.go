package sharepoint

import (
	"context"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.FileLister = (*conn)(nil)
	_ providers.FileStater = (*conn)(nil)
)

// itemSelect is the $select of a listing; reading one item adds root, which
// tells the drive's root folder apart (it has no parentReference.path).
const itemSelect = "id,name,size,file,folder,lastModifiedDateTime,parentReference"

// statConcurrency bounds the Graph calls of one StatFiles.
const statConcurrency = 8

// driveItem is the part of a Graph driveItem the files calls read.
type driveItem struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Size     *int64     `json:"size"`
	Modified *time.Time `json:"lastModifiedDateTime"`
	File     *struct {
		MimeType string `json:"mimeType"`
	} `json:"file"`
	Folder *struct{} `json:"folder"`
	Root   *struct{} `json:"root"`
	Parent struct {
		Path string `json:"path"`
	} `json:"parentReference"`
}

// ListFiles lists one folder of the drive below root_path a page at a time:
// GET /v1.0/drives/{drive}/root:/{path}:/children (root/children for the
// drive's root) or /v1.0/drives/{drive}/items/{id}/children, with $top and
// $select; the cursor is Graph's @odata.nextLink, followed verbatim (API
// refuses one that points at another host).
func (c *conn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	drive, err := c.drive(ctx)
	if err != nil {
		return nil, err
	}
	what := "the folder " + req.Folder.String()
	var folder, rel string // the folder's Graph path and its path below the root
	if req.Folder.ID != "" {
		item, err := c.itemByID(ctx, drive, req.Folder.ID, what)
		if err != nil {
			return nil, err
		}
		if item.Folder == nil && item.Root == nil {
			return nil, providers.Errorf(providers.CodeNotFound, "%s: %s is not a folder", name, what)
		}
		folder, rel = itemPath(drive, req.Folder.ID), item.path
	} else {
		folder, rel = c.pathOf(drive, req.Folder.Path), req.Folder.Path
	}
	call := providers.Call{Path: req.Cursor, What: what}
	if req.Cursor == "" {
		size := req.PageSize
		if size <= 0 {
			size = 100
		}
		size = min(size, 1000)
		call = providers.Call{Path: childrenOf(folder), What: what,
			Query: url.Values{"$top": {strconv.Itoa(size)}, "$select": {itemSelect}}}
	}
	var page struct {
		Value    []driveItem `json:"value"`
		NextLink string      `json:"@odata.nextLink"`
	}
	if err := c.api.JSON(ctx, call, &page); err != nil {
		return nil, err
	}
	out := &providers.FilePage{Path: rel, Cursor: page.NextLink, Items: make([]providers.FileItem, 0, len(page.Value))}
	for _, it := range page.Value {
		out.Items = append(out.Items, it.fileItem(providers.JoinPath(rel, it.Name)))
	}
	return out, nil
}

// StatFiles describes each item on its own (GET the driveItem by path or by
// id, at most eight at a time). An item that is missing, outside root_path
// or refused is reported in its FileStat; any other failure fails the call.
func (c *conn) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	drive, err := c.drive(ctx)
	if err != nil {
		return nil, err
	}
	return providers.StatEach(ctx, name, req.Items, statConcurrency, func(ctx context.Context, ref providers.FileRef) (providers.FileItem, error) {
		if ref.ID != "" {
			it, err := c.itemByID(ctx, drive, ref.ID, "the item "+ref.String())
			if err != nil {
				return providers.FileItem{}, err
			}
			return it.fileItem(it.path), nil
		}
		var it driveItem
		err := c.api.JSON(ctx, providers.Call{Path: c.pathOf(drive, ref.Path), What: "the item " + ref.Path,
			Query: url.Values{"$select": {itemSelect + ",root"}}}, &it)
		if err != nil {
			return providers.FileItem{}, err
		}
		return it.fileItem(ref.Path), nil
	})
}

// located is a driveItem with its path below the root.
type located struct {
	driveItem
	path string
}

// itemByID reads the item id of drive and places it below root_path; an item
// outside root_path is not found. what names it in messages.
func (c *conn) itemByID(ctx context.Context, drive, id, what string) (*located, error) {
	if id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return nil, providers.Errorf(providers.CodeNotFound, "%s: %s was not found", name, what)
	}
	var it located
	err := c.api.JSON(ctx, providers.Call{Path: itemPath(drive, id), What: what,
		Query: url.Values{"$select": {itemSelect + ",root"}}}, &it.driveItem)
	if err != nil {
		return nil, err
	}
	var ok bool
	if it.path, ok = c.below(it.driveItem); !ok {
		return nil, providers.Errorf(providers.CodeNotFound, "%s: %s was not found below root_path", name, what)
	}
	return &it, nil
}

// below returns the path of it below root_path, from its parentReference.path
// ("/drives/{id}/root:/a/b", percent-encoded); false when it lies outside
// root_path. SharePoint paths are case-insensitive.
func (c *conn) below(it driveItem) (string, bool) {
	full := ""
	if it.Root == nil {
		_, parent, ok := strings.Cut(it.Parent.Path, "root:")
		if !ok {
			return "", false
		}
		if p, err := url.PathUnescape(parent); err == nil {
			parent = p
		}
		full = parent + "/" + it.Name
	}
	switch n := len(c.rootPath); {
	case c.rootPath == "":
		return path.Clean("/" + full), true
	case strings.EqualFold(full, c.rootPath):
		return "/", true
	case len(full) > n && full[n] == '/' && strings.EqualFold(full[:n], c.rootPath):
		return full[n:], true
	}
	return "", false
}

// fileItem is it as a FileItem at p.
func (it driveItem) fileItem(p string) providers.FileItem {
	fi := providers.FileItem{ID: "id:" + it.ID, Kind: providers.FileKindFolder, Name: it.Name, Path: p, ModifiedAt: it.Modified}
	if it.Folder == nil && it.Root == nil {
		fi.Kind, fi.Size = providers.FileKindFile, it.Size
		t := ""
		if it.File != nil {
			t = it.File.MimeType
		}
		if t == "" {
			t, _, _ = strings.Cut(mime.TypeByExtension(path.Ext(it.Name)), ";")
		}
		if t != "" {
			fi.MimeType = &t
		}
	}
	return fi
}

// drive returns drive_id, or the site's default drive (GET
// /v1.0/sites/{site}/drive), found once per connection; a failure is not
// remembered, so the next call tries again.
func (c *conn) drive(ctx context.Context) (string, error) {
	if c.driveID != "" {
		return c.driveID, nil
	}
	select {
	case c.driveLock <- struct{}{}:
	case <-ctx.Done():
		return "", providers.Classify(name, ctx.Err())
	}
	defer func() { <-c.driveLock }()
	if c.resolvedDrive != "" {
		return c.resolvedDrive, nil
	}
	p := c.sitePath() + "/drive"
	if c.site != "" {
		p = c.sitePath() + ":/drive"
	}
	var d struct {
		ID string `json:"id"`
	}
	if err := c.get(ctx, p, "id", "the default drive of "+c.siteLabel(), &d); err != nil {
		return "", err
	}
	if d.ID == "" {
		return "", providers.Errorf(providers.CodeProviderError, "%s: Microsoft Graph answered without a drive id; set drive_id", name)
	}
	c.resolvedDrive = d.ID
	return d.ID, nil
}

// pathOf is the Graph path of the item at p below root_path:
// /v1.0/drives/{drive}/root, or /v1.0/drives/{drive}/root:/{root_path+p}.
func (c *conn) pathOf(drive, p string) string {
	full := c.rootPath
	if p != "/" {
		full += p
	}
	if full == "" {
		return "/v1.0/drives/" + url.PathEscape(drive) + "/root"
	}
	return "/v1.0/drives/" + url.PathEscape(drive) + "/root:" + escapePath(full)
}

// itemPath is the Graph path of the item id.
func itemPath(drive, id string) string {
	return "/v1.0/drives/" + url.PathEscape(drive) + "/items/" + url.PathEscape(id)
}

// childrenOf is the children of the item at the Graph path p: path-addressed
// items end the path with a colon before the next segment.
func childrenOf(p string) string {
	if strings.Contains(p, "/root:") {
		return p + ":/children"
	}
	return p + "/children"
}
