package gmail

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.FileLister = (*conn)(nil)
	_ providers.FileStater = (*conn)(nil)
)

// The mailbox is always "me": the authorised user, or with a service
// account the impersonated mailbox (the token's subject).
const user = "me"

// The files of a mailbox form three levels:
//
//	/                      the labels, as folders (ID "id:label:<labelId>",
//	                       Path "/<label name>"; a nested label "A/B" is
//	                       "/A/B")
//	/<label>               the label's messages that have attachments, as
//	                       folders named "<subject> (<date>)" (ID
//	                       "id:msg:<messageId>")
//	/<label>/<message>     the message's attachments, as files (ID
//	                       "id:att:<messageId>/<partId>"; part ids are
//	                       stable, Gmail's attachment ids are not)
//
// The root and labels resolve by path or id; messages and attachments by id
// only (a subject is neither unique nor cheap to search for).
const (
	labelPrefix = "label:"
	msgPrefix   = "msg:"
	attPrefix   = "att:"
)

// Request bounds.
const (
	defaultPageSize = 100
	// maxMessages is the most messages.list returns in one page.
	maxMessages = 500
	// workers bounds the concurrent messages.get calls of one request.
	workers = 4
)

// The partial-response fields of each call.
const (
	labelFields    = "labels(id,name,type)"
	listFields     = "nextPageToken,messages(id)"
	metadataFields = "id,labelIds,internalDate,payload/headers"
	fullFields     = "id,labelIds,internalDate,payload"
)

// messageID is what a Gmail message id looks like (hex in practice); other
// ids are not sent to Gmail.
var messageID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ListFiles lists one page of the mailbox: the labels (paged by offset), a
// label's messages with attachments (Gmail's pageToken as the cursor), or a
// message's attachments (one page).
func (c *conn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	size := req.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	r := c.newResolver()
	// A message listed is read in full at once: its parts are the listing.
	t, err := r.resolve(ctx, req.Folder, formatFull)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case kindRoot:
		return r.listLabels(ctx, req.Cursor, size)
	case kindLabel:
		return r.listMessages(ctx, t.label, req.Cursor, min(size, maxMessages))
	case kindMessage:
		return r.listAttachments(ctx, t.msg)
	}
	return nil, providers.Errorf(providers.CodeNotFound, "gmail_inbox: %s is a file, not a folder", req.Folder)
}

// StatFiles describes each item on its own, a few at a time. An item that
// does not exist or lies outside the configured labels gets its own
// not_found (permission_denied for a 403); any other failure fails the call.
func (c *conn) StatFiles(ctx context.Context, req providers.StatFilesRequest) (*providers.StatFilesResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	r := c.newResolver()
	return providers.StatEach(ctx, "gmail_inbox", req.Items, workers, func(ctx context.Context, ref providers.FileRef) (providers.FileItem, error) {
		t, err := r.resolve(ctx, ref, formatMetadata)
		if err != nil {
			return providers.FileItem{}, err
		}
		return r.describe(ctx, t)
	})
}

// The kinds of a resolved FileRef.
const (
	kindRoot = iota
	kindLabel
	kindMessage
	kindAttachment
)

// The formats messages are read in.
const (
	formatMetadata = "metadata"
	formatFull     = "full"
)

// target is a resolved FileRef.
type target struct {
	kind   int
	label  *gmail.Label   // kindLabel
	msg    *gmail.Message // kindMessage, kindAttachment (format full)
	partID string         // kindAttachment
}

// resolver resolves FileRefs for one call, fetching the labels at most once
// and each message at most once per format.
type resolver struct {
	c          *conn
	configured []string // label_ids, nil for every label

	labelsOnce sync.Once
	labels     []*gmail.Label // sorted by path, then id
	labelsErr  error

	mu   sync.Mutex
	msgs map[string]*gmail.Message // format + " " + id
}

func (c *conn) newResolver() *resolver {
	var ids []string
	for _, id := range c.cfg.StringList("label_ids") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return &resolver{c: c, configured: ids, msgs: map[string]*gmail.Message{}}
}

// resolve finds what ref names, reading a message in msgFormat ("metadata"
// or "full"; attachments always need "full"). Paths below a label are not
// resolved: messages and attachments are reached by id.
func (r *resolver) resolve(ctx context.Context, ref providers.FileRef, msgFormat string) (target, error) {
	if ref.ID == "" {
		p, err := providers.CleanPath(ref.Path)
		if err != nil {
			return target{}, providers.Wrap(providers.CodeNotFound, err, "gmail_inbox: %q is not a valid path", ref.Path)
		}
		if p == "/" {
			return target{kind: kindRoot}, nil
		}
		labels, err := r.allLabels(ctx)
		if err != nil {
			return target{}, err
		}
		for _, l := range labels {
			if labelPath(l) == p {
				return target{kind: kindLabel, label: l}, nil
			}
		}
		return target{}, providers.Errorf(providers.CodeNotFound,
			"gmail_inbox: no label is named %q; messages and attachments are reached by id (id:msg:<id>, id:att:<id>/<part>), as listed", strings.TrimPrefix(p, "/"))
	}
	switch id := ref.ID; {
	case strings.HasPrefix(id, labelPrefix):
		labels, err := r.allLabels(ctx)
		if err != nil {
			return target{}, err
		}
		want := strings.TrimPrefix(id, labelPrefix)
		for _, l := range labels {
			if l.Id == want {
				return target{kind: kindLabel, label: l}, nil
			}
		}
		return target{}, providers.Errorf(providers.CodeNotFound, "gmail_inbox: the label id:%s was not found", id)
	case strings.HasPrefix(id, msgPrefix):
		m, err := r.message(ctx, strings.TrimPrefix(id, msgPrefix), msgFormat)
		if err != nil {
			return target{}, err
		}
		return target{kind: kindMessage, msg: m}, nil
	case strings.HasPrefix(id, attPrefix):
		msgID, partID, ok := strings.Cut(strings.TrimPrefix(id, attPrefix), "/")
		if !ok || partID == "" {
			return target{}, providers.Errorf(providers.CodeNotFound, "gmail_inbox: id:%s is not an attachment id (att:<message id>/<part id>)", id)
		}
		m, err := r.message(ctx, msgID, formatFull)
		if err != nil {
			return target{}, err
		}
		if attachment(m.Payload, partID) == nil {
			return target{}, providers.Errorf(providers.CodeNotFound, "gmail_inbox: the attachment id:%s was not found", id)
		}
		return target{kind: kindAttachment, msg: m, partID: partID}, nil
	}
	return target{}, providers.Errorf(providers.CodeNotFound,
		"gmail_inbox: id:%s was not found (ids are label:<id>, msg:<id> or att:<message id>/<part id>)", ref.ID)
}

// describe is the FileItem of a resolved target.
func (r *resolver) describe(ctx context.Context, t target) (providers.FileItem, error) {
	switch t.kind {
	case kindRoot:
		return providers.FileItem{ID: "/", Kind: providers.FileKindFolder, Path: "/"}, nil
	case kindLabel:
		return labelItem(t.label), nil
	}
	dir, err := r.messageDir(ctx, t.msg)
	if err != nil {
		return providers.FileItem{}, err
	}
	if t.kind == kindMessage {
		return messageItem(t.msg, dir), nil
	}
	return attachmentItem(t.msg, attachment(t.msg.Payload, t.partID), dir+"/"+messageName(t.msg)), nil
}

// allLabels returns the mailbox's labels (only the configured ones when
// label_ids is set) sorted by path, fetched once per call.
func (r *resolver) allLabels(ctx context.Context) ([]*gmail.Label, error) {
	r.labelsOnce.Do(func() {
		res, err := r.c.svc.Users.Labels.List(user).Fields(labelFields).Context(ctx).Do()
		if err != nil {
			r.labelsErr = wrap(r.c.auth.APIError(err), "listing the labels")
			return
		}
		for _, l := range res.Labels {
			if l.Id != "" && (r.configured == nil || slices.Contains(r.configured, l.Id)) {
				r.labels = append(r.labels, l)
			}
		}
		slices.SortFunc(r.labels, func(a, b *gmail.Label) int {
			if c := strings.Compare(labelPath(a), labelPath(b)); c != 0 {
				return c
			}
			return strings.Compare(a.Id, b.Id)
		})
	})
	return r.labels, r.labelsErr
}

// message fetches one message (format "metadata" with the Subject and Date
// headers, or "full" with every part) and checks it lies in a configured
// label. A missing or malformed id is not found.
func (r *resolver) message(ctx context.Context, id, format string) (*gmail.Message, error) {
	notFound := providers.Errorf(providers.CodeNotFound, "gmail_inbox: the message id:%s%s was not found", msgPrefix, id)
	if !messageID.MatchString(id) {
		return nil, notFound
	}
	key := format + " " + id
	r.mu.Lock()
	m, ok := r.msgs[key]
	r.mu.Unlock()
	if !ok {
		call := r.c.svc.Users.Messages.Get(user, id).Format(format)
		if format == formatMetadata {
			call = call.MetadataHeaders("Subject", "Date").Fields(metadataFields)
		} else {
			call = call.Fields(fullFields)
		}
		var err error
		if m, err = call.Context(ctx).Do(); err != nil {
			// Gmail answers 400 "Invalid id value" for an id it never issued.
			if status(err) == http.StatusNotFound || status(err) == http.StatusBadRequest {
				notFound.Err = err
				return nil, notFound
			}
			return nil, wrap(r.c.auth.APIError(err), "reading message %s", id)
		}
		r.mu.Lock()
		r.msgs[key] = m
		r.mu.Unlock()
	}
	if r.configured != nil && !slices.ContainsFunc(m.LabelIds, func(l string) bool { return slices.Contains(r.configured, l) }) {
		return nil, notFound
	}
	return m, nil
}

// messageDir is the path of the label a message reached by id is shown
// under: the first configured label it carries, else INBOX, else its user
// labels, else any of its labels, by path; "" (the root) without one.
func (r *resolver) messageDir(ctx context.Context, m *gmail.Message) (string, error) {
	labels, err := r.allLabels(ctx)
	if err != nil {
		return "", err
	}
	byID := map[string]*gmail.Label{}
	for _, l := range labels {
		byID[l.Id] = l
	}
	for _, id := range r.configured {
		if l := byID[id]; l != nil && slices.Contains(m.LabelIds, id) {
			return labelPath(l), nil
		}
	}
	if l := byID["INBOX"]; l != nil && slices.Contains(m.LabelIds, "INBOX") {
		return labelPath(l), nil
	}
	for _, userOnly := range []bool{true, false} {
		for _, l := range labels { // sorted by path
			if (!userOnly || l.Type == "user") && slices.Contains(m.LabelIds, l.Id) {
				return labelPath(l), nil
			}
		}
	}
	return "", nil
}

// listLabels is a page of the labels, from the offset in cursor.
func (r *resolver) listLabels(ctx context.Context, cursor string, size int) (*providers.FilePage, error) {
	off := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, providers.Errorf(providers.CodeRefused, "gmail_inbox: the page cursor is not a label offset")
		}
		off = n
	}
	labels, err := r.allLabels(ctx)
	if err != nil {
		return nil, err
	}
	off = min(off, len(labels))
	end := min(off+size, len(labels))
	page := &providers.FilePage{Path: "/", Items: make([]providers.FileItem, 0, end-off)}
	for _, l := range labels[off:end] {
		page.Items = append(page.Items, labelItem(l))
	}
	if end < len(labels) {
		page.Cursor = strconv.Itoa(end)
	}
	return page, nil
}

// listMessages is a page of a label's messages with attachments, each named
// from its Subject and Date headers (fetched a few at a time). A message
// deleted between the list and its get is left out.
func (r *resolver) listMessages(ctx context.Context, l *gmail.Label, cursor string, size int) (*providers.FilePage, error) {
	call := r.c.svc.Users.Messages.List(user).Q(r.c.searchQuery()).LabelIds(l.Id).MaxResults(int64(size)).Fields(listFields)
	if cursor != "" {
		call = call.PageToken(cursor)
	}
	res, err := call.Context(ctx).Do()
	if err != nil {
		return nil, wrap(r.c.auth.APIError(err), "listing the messages of %s", labelPath(l))
	}
	dir := labelPath(l)
	items := make([]*providers.FileItem, len(res.Messages))
	err = providers.ForEach(ctx, len(res.Messages), workers, func(ctx context.Context, i int) error {
		id := res.Messages[i].Id
		m, err := r.c.svc.Users.Messages.Get(user, id).Format(formatMetadata).MetadataHeaders("Subject", "Date").
			Fields(metadataFields).Context(ctx).Do()
		if status(err) == http.StatusNotFound {
			return nil
		}
		if err != nil {
			return wrap(r.c.auth.APIError(err), "reading message %s", id)
		}
		it := messageItem(m, dir)
		items[i] = &it
		return nil
	})
	if err != nil {
		return nil, providers.Classify("gmail_inbox", err)
	}
	page := &providers.FilePage{Path: dir, Cursor: res.NextPageToken, Items: make([]providers.FileItem, 0, len(items))}
	for _, it := range items {
		if it != nil {
			page.Items = append(page.Items, *it)
		}
	}
	return page, nil
}

// listAttachments is every attachment of a message (read in full), in part
// order, on one page.
func (r *resolver) listAttachments(ctx context.Context, m *gmail.Message) (*providers.FilePage, error) {
	dir, err := r.messageDir(ctx, m)
	if err != nil {
		return nil, err
	}
	p := strings.TrimSuffix(dir, "/") + "/" + messageName(m)
	page := &providers.FilePage{Path: p, Items: []providers.FileItem{}}
	walkParts(m.Payload, func(part *gmail.MessagePart) {
		page.Items = append(page.Items, attachmentItem(m, part, p))
	})
	return page, nil
}

// walkParts calls fn for every attachment below part, depth first in part
// order: a part with a file name whose body is stored apart.
func walkParts(part *gmail.MessagePart, fn func(*gmail.MessagePart)) {
	if part == nil {
		return
	}
	if part.Filename != "" && part.Body != nil && part.Body.AttachmentId != "" {
		fn(part)
	}
	for _, p := range part.Parts {
		walkParts(p, fn)
	}
}

// attachment returns the attachment with partID, or nil.
func attachment(payload *gmail.MessagePart, partID string) *gmail.MessagePart {
	var found *gmail.MessagePart
	walkParts(payload, func(p *gmail.MessagePart) {
		if found == nil && p.PartId == partID {
			found = p
		}
	})
	return found
}

// labelPath is a label's path: its name below the root, so the nested label
// "Work/Projects" is "/Work/Projects".
func labelPath(l *gmail.Label) string {
	p, err := providers.CleanPath(l.Name)
	if err != nil || p == "/" {
		return "/" + l.Id // a name that cannot be a path
	}
	return p
}

// labelItem is a label as a folder of the root; a nested label is named by
// its full name ("Work/Projects"), so its path is still "/" + its name.
func labelItem(l *gmail.Label) providers.FileItem {
	p := labelPath(l)
	return providers.FileItem{ID: "id:" + labelPrefix + l.Id, Kind: providers.FileKindFolder, Name: strings.TrimPrefix(p, "/"), Path: p}
}

// messageItem is a message as a folder inside dir.
func messageItem(m *gmail.Message, dir string) providers.FileItem {
	name := messageName(m)
	return providers.FileItem{
		ID: "id:" + msgPrefix + m.Id, Kind: providers.FileKindFolder, Name: name,
		Path: strings.TrimSuffix(dir, "/") + "/" + name, ModifiedAt: internalDate(m),
	}
}

// attachmentItem is an attachment as a file inside the message folder at
// dir. The MIME type is the part's, else guessed from the file name.
func attachmentItem(m *gmail.Message, part *gmail.MessagePart, dir string) providers.FileItem {
	it := providers.FileItem{
		ID: "id:" + attPrefix + m.Id + "/" + part.PartId, Kind: providers.FileKindFile, Name: part.Filename,
		Path: dir + "/" + part.Filename, ModifiedAt: internalDate(m),
	}
	mt := part.MimeType
	if mt == "" {
		mt = mime.TypeByExtension(path.Ext(part.Filename))
	}
	if mt != "" {
		it.MimeType = &mt
	}
	size := part.Body.Size
	it.Size = &size
	return it
}

// messageName is "<subject> (<date>)", the date in UTC from the Date header,
// else from Gmail's internal date.
func messageName(m *gmail.Message) string {
	subject := strings.Join(strings.Fields(header(m, "Subject")), " ")
	if subject == "" {
		subject = "(no subject)"
	}
	var when time.Time
	if t, err := mail.ParseDate(header(m, "Date")); err == nil {
		when = t
	} else if t := internalDate(m); t != nil {
		when = *t
	} else {
		return subject
	}
	return subject + " (" + when.UTC().Format("2006-01-02 15:04") + " UTC)"
}

// header returns the first header called name (case-insensitively).
func header(m *gmail.Message, name string) string {
	if m.Payload == nil {
		return ""
	}
	for _, h := range m.Payload.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// internalDate is when Gmail received the message, nil when unknown.
func internalDate(m *gmail.Message) *time.Time {
	if m.InternalDate <= 0 {
		return nil
	}
	t := time.UnixMilli(m.InternalDate).UTC()
	return &t
}

// searchQuery is the messages.list q: messages with attachments, narrowed
// by the configured query (grouped, so an OR in it cannot widen the search).
func (c *conn) searchQuery() string {
	q := strings.TrimSpace(c.cfg.String("query"))
	if q == "" || q == "has:attachment" {
		return "has:attachment"
	}
	return "has:attachment (" + q + ")"
}

// status is the HTTP status of a Google API error, or 0.
func status(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// wrap prefixes the message of e (after the provider name) with what was
// being done. Codes, retry hints and the cause are kept.
func wrap(e *providers.Error, format string, args ...any) *providers.Error {
	msg, ok := strings.CutPrefix(e.Message, "gmail_inbox: ")
	if !ok {
		return e
	}
	out := *e
	out.Message = "gmail_inbox: " + fmt.Sprintf(format, args...) + ": " + msg
	return &out
}
