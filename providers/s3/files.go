package s3

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.FileLister = (*conn)(nil)
	_ providers.FileStater = (*conn)(nil)
	_ providers.FileWalker = (*conn)(nil)
)

const (
	// maxKeys is the most keys S3 returns in one ListObjectsV2 page.
	maxKeys = 1000
	// defaultPageSize is the API's default page size, for a request without one.
	defaultPageSize = 100
	// statWorkers bounds the HeadObject and ListObjectsV2 calls one StatFiles
	// has in flight.
	statWorkers = 8
)

// rootPrefix normalises the prefix setting to the key prefix every path lives
// under: "" for the whole bucket, otherwise "a/b/".
func rootPrefix(prefix string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return ""
	}
	return prefix + "/"
}

// resolve returns ref's clean slash path. S3 has no ids, so an id names
// nothing.
func (c *conn) resolve(ref providers.FileRef) (string, *providers.Error) {
	if ref.ID != "" {
		return "", providers.Errorf(providers.CodeNotFound, "s3: %q was not found: S3 addresses items by path, not by id", ref.String())
	}
	p, err := providers.CleanPath(ref.Path)
	if err != nil {
		return "", providers.Wrap(providers.CodeNotFound, err, "s3: the path %q names nothing", ref.Path)
	}
	return p, nil
}

// folderPrefix is the key prefix of the folder at clean path p.
func (c *conn) folderPrefix(p string) string {
	if p == "/" {
		return c.root
	}
	return c.root + p[1:] + "/"
}

// objectKey is the key of the object at clean path p (not the root).
func (c *conn) objectKey(p string) string { return c.root + p[1:] }

// childPath is the slash path of name in the folder at clean path dir.
func childPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// addressable reports whether rel, a key below a folder's prefix, can be
// named by a clean path: every segment non-empty and neither "." nor "..".
// Keys such as "a//b" or "a/../b" are legal in S3, but CleanPath would turn
// their paths into another key's (or the root's), so they are left out of
// listings and walks alike.
func addressable(rel string) bool {
	for {
		seg, rest, more := strings.Cut(rel, "/")
		if seg == "" || seg == "." || seg == ".." || strings.IndexByte(seg, 0) >= 0 {
			return false
		}
		if !more {
			return true
		}
		rel = rest
	}
}

// folderNotFound is the error for a folder with nothing under it.
func folderNotFound(p string) *providers.Error {
	return providers.Errorf(providers.CodeNotFound, "s3: the folder %s was not found", p)
}

// fail classifies an SDK error and names the operation and path in it.
func (c *conn) fail(op, p string, err error) *providers.Error {
	return withContext(op, p, c.classify(err))
}

// withContext returns a copy of e whose message names the operation and path.
func withContext(op, p string, e *providers.Error) *providers.Error {
	out := *e
	out.Message = fmt.Sprintf("s3: %s %q: %s", op, p, strings.TrimPrefix(e.Message, "s3: "))
	return &out
}

// bareMime returns t without parameters, or nil when that leaves nothing.
func bareMime(t string) *string {
	t, _, _ = strings.Cut(t, ";")
	if t = strings.TrimSpace(t); t == "" {
		return nil
	}
	return &t
}

// extMime is the media type registered for name's extension, or nil.
func extMime(name string) *string {
	ext := path.Ext(name)
	if ext == "" {
		return nil
	}
	return bareMime(mime.TypeByExtension(ext))
}

// headMime is the media type of an object: its Content-Type, unless that is
// missing or only says "bytes" (S3's default for uploads without one), in
// which case the extension's is more useful when there is one.
func headMime(contentType *string, name string) *string {
	t := bareMime(aws.ToString(contentType))
	if t == nil || *t == "binary/octet-stream" || *t == "application/octet-stream" {
		if m := extMime(name); m != nil {
			return m
		}
	}
	return t
}

func fileItem(p, name string, size *int64, modified *time.Time, mimeType *string) providers.FileItem {
	if size == nil {
		size = new(int64)
	}
	return providers.FileItem{ID: p, Kind: providers.FileKindFile, Name: name, Path: p, Size: size, ModifiedAt: modified, MimeType: mimeType}
}

func folderItem(p string) providers.FileItem {
	return providers.FileItem{ID: p, Kind: providers.FileKindFolder, Name: path.Base(p), Path: p}
}

// ListFiles lists one page of a folder with ListObjectsV2 and the "/"
// delimiter: sub-folders are the common prefixes, files the objects, merged
// in key order. The cursor is S3's continuation token.
func (c *conn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	dir, perr := c.resolve(req.Folder)
	if perr != nil {
		return nil, perr
	}
	size := req.PageSize
	switch {
	case size <= 0:
		size = defaultPageSize
	case size > maxKeys:
		size = maxKeys
	}
	prefix := c.folderPrefix(dir)
	in := &s3.ListObjectsV2Input{
		Bucket:    aws.String(c.bucket),
		Prefix:    aws.String(prefix),
		Delimiter: aws.String("/"),
		MaxKeys:   aws.Int32(int32(size)),
	}
	if req.Cursor != "" {
		in.ContinuationToken = aws.String(req.Cursor)
	}
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	out, err := c.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, c.fail("list", dir, err)
	}
	// S3 has no folders: one that has nothing under it (not even its own
	// marker object) does not exist. Only the first page can tell.
	if req.Cursor == "" && dir != "/" && len(out.Contents) == 0 && len(out.CommonPrefixes) == 0 {
		return nil, folderNotFound(dir)
	}
	page := &providers.FilePage{Path: dir, Items: make([]providers.FileItem, 0, len(out.Contents)+len(out.CommonPrefixes))}
	add := func(it providers.FileItem, ok bool) {
		// A folder's marker listed as an object besides its common prefix
		// (see listedFile) sorts right after it.
		if !ok {
			return
		}
		if n := len(page.Items); n == 0 || page.Items[n-1].Path != it.Path || page.Items[n-1].Kind != it.Kind {
			page.Items = append(page.Items, it)
		}
	}
	files, dirs := out.Contents, out.CommonPrefixes
	for len(files) > 0 || len(dirs) > 0 {
		if len(dirs) == 0 || (len(files) > 0 && aws.ToString(files[0].Key) < aws.ToString(dirs[0].Prefix)) {
			add(listedFile(dir, prefix, &files[0]))
			files = files[1:]
			continue
		}
		add(listedFolder(dir, prefix, &dirs[0]))
		dirs = dirs[1:]
	}
	if aws.ToBool(out.IsTruncated) {
		next := aws.ToString(out.NextContinuationToken)
		// Either would make a caller that pages to the end stop early or loop.
		if next == "" || next == req.Cursor {
			return nil, providers.Errorf(providers.CodeProviderError, "s3: list %q: the service returned a truncated page without a new continuation token", dir)
		}
		page.Cursor = next
	}
	return page, nil
}

// listedFile turns an object of a delimited listing into an item. The folder's
// own marker object (key == prefix) and keys no clean path can name are
// skipped; a key outside the prefix (a misbehaving server) is never named.
// S3 rolls a sub-folder's marker ("prefix" + name + "/") into the common
// prefixes, but some S3-compatible servers (gofakes3 among them) list it as
// an object, so it is taken for the folder it marks.
func listedFile(dir, prefix string, o *types.Object) (providers.FileItem, bool) {
	name, ok := strings.CutPrefix(aws.ToString(o.Key), prefix)
	if !ok {
		return providers.FileItem{}, false
	}
	if folder, marker := strings.CutSuffix(name, "/"); marker {
		if strings.Contains(folder, "/") || !addressable(folder) {
			return providers.FileItem{}, false
		}
		return folderItem(childPath(dir, folder)), true
	}
	if strings.Contains(name, "/") || !addressable(name) {
		return providers.FileItem{}, false
	}
	return fileItem(childPath(dir, name), name, o.Size, o.LastModified, extMime(name)), true
}

// listedFolder turns a common prefix ("prefix" + name + "/") into an item.
func listedFolder(dir, prefix string, cp *types.CommonPrefix) (providers.FileItem, bool) {
	rel, ok := strings.CutPrefix(aws.ToString(cp.Prefix), prefix)
	name, ok2 := strings.CutSuffix(rel, "/")
	if !ok || !ok2 || strings.Contains(name, "/") || !addressable(name) {
		return providers.FileItem{}, false
	}
	return folderItem(childPath(dir, name)), true
}

// StatFiles describes each item with HeadObject (a file) and, when there is
// no such object, a one-key ListObjectsV2 under it (a folder when anything is
// there). Up to statWorkers items are described at once; results keep request
// order. A failure of the whole call (credentials, network, throttling, a
// missing bucket) stops the others and is the call's error.
func (c *conn) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	res := &providers.StatFilesResult{Items: make([]providers.FileStat, len(req.Items))}
	if len(req.Items) == 0 {
		return res, nil
	}
	err := providers.ForEach(ctx, len(req.Items), statWorkers, func(ctx context.Context, i int) (err error) {
		res.Items[i], err = c.statOne(ctx, req.Items[i])
		return err
	})
	var pe *providers.Error
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &pe): // statOne's: a failure of the whole call
		return nil, err
	}
	// The caller's context ended before every item was described.
	return nil, withContext("stat", fmt.Sprintf("%d items", len(req.Items)), c.classify(err))
}

// statOne describes one item. Its error is for failures of the whole call;
// an item that is absent or denied is reported in the FileStat.
func (c *conn) statOne(ctx context.Context, ref providers.FileRef) (providers.FileStat, error) {
	p, perr := c.resolve(ref)
	if perr != nil {
		return providers.FileStat{Err: perr}, nil
	}
	if p == "/" {
		return providers.FileStat{Item: folderItem(p)}, nil
	}
	key := c.objectKey(p)
	hctx, cancel := c.cfg.WithTimeout(ctx)
	head, err := c.client.HeadObject(hctx, &s3.HeadObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
	cancel()
	if err == nil {
		name := path.Base(p)
		return providers.FileStat{Item: fileItem(p, name, head.ContentLength, head.LastModified, headMime(head.ContentType, name))}, nil
	}
	// A HEAD answer has no body, so its 404 may be a missing key or a missing
	// bucket, and its 403 a key we may not read or rejected credentials. The
	// listing below has a body that tells them apart.
	headDenied := false
	switch e := c.classify(err); e.Code {
	case providers.CodeNotFound:
	case providers.CodePermissionDenied:
		headDenied = true
	default:
		return providers.FileStat{}, withContext("stat", p, e)
	}
	lctx, cancel := c.cfg.WithTimeout(ctx)
	out, err := c.client.ListObjectsV2(lctx, &s3.ListObjectsV2Input{
		Bucket:  aws.String(c.bucket),
		Prefix:  aws.String(key + "/"),
		MaxKeys: aws.Int32(1),
	})
	cancel()
	if err != nil {
		e := c.fail("stat", p, err)
		if e.Code == providers.CodePermissionDenied {
			return providers.FileStat{Err: e}, nil
		}
		return providers.FileStat{}, e
	}
	switch {
	case len(out.Contents) > 0 || len(out.CommonPrefixes) > 0:
		return providers.FileStat{Item: folderItem(p)}, nil
	case headDenied:
		// The listing was allowed, so the credentials are good: S3 answers
		// 403 rather than 404 for a key the caller may not read.
		return providers.FileStat{Err: providers.Errorf(providers.CodePermissionDenied,
			"s3: stat %q: reading the object was denied; the credentials need s3:GetObject on it", p)}, nil
	}
	return providers.FileStat{Err: providers.Errorf(providers.CodeNotFound, "s3: %s was not found", p)}, nil
}

// WalkFiles lists every object below a folder with ListObjectsV2 without a
// delimiter, 1,000 keys a page, and calls fn for each file as the pages
// arrive; only one page is held at a time. Folder marker objects (keys ending
// in "/") are not files. Files deeper than MaxDepth+1 are skipped, but S3
// cannot prune a listing by depth, so their keys are still read.
func (c *conn) WalkFiles(ctx context.Context, req providers.WalkFilesRequest, fn providers.WalkFunc) error {
	dir, perr := c.resolve(req.Folder)
	if perr != nil {
		return perr
	}
	prefix := c.folderPrefix(dir)
	in := &s3.ListObjectsV2Input{
		Bucket:  aws.String(c.bucket),
		Prefix:  aws.String(prefix),
		MaxKeys: aws.Int32(maxKeys),
	}
	for first := true; ; first = false {
		pctx, cancel := c.cfg.WithTimeout(ctx)
		out, err := c.client.ListObjectsV2(pctx, in)
		cancel()
		if err != nil {
			return c.fail("walk", dir, err)
		}
		if first && dir != "/" && len(out.Contents) == 0 {
			return folderNotFound(dir)
		}
		for i := range out.Contents {
			o := &out.Contents[i]
			rel, ok := strings.CutPrefix(aws.ToString(o.Key), prefix)
			if !ok || rel == "" || strings.HasSuffix(rel, "/") {
				continue
			}
			depth := strings.Count(rel, "/") + 1
			if req.MaxDepth > 0 && depth > req.MaxDepth+1 || !addressable(rel) {
				continue
			}
			name := rel[strings.LastIndexByte(rel, '/')+1:]
			if err := fn(fileItem(childPath(dir, rel), name, o.Size, o.LastModified, extMime(name)), depth); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		next := aws.ToString(out.NextContinuationToken)
		if next == "" || next == aws.ToString(in.ContinuationToken) {
			return providers.Errorf(providers.CodeProviderError, "s3: walk %q: the service returned a truncated page without a new continuation token", dir)
		}
		in.ContinuationToken = aws.String(next)
	}
}
