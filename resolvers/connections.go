package resolvers

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// Limits of the connection fields and the list.
const (
	MaxNameLen   = 255
	MaxSlugLen   = 100
	DefaultLimit = 50
	MaxLimit     = 1000
)

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{1,100}$`)

// oauthTokenKey is the reserved credentials key holding a driver's current
// OAuth token; it is not a spec field and never listed in editSettings.
const oauthTokenKey = "_oauth_token"

// caller returns the authenticated identity; resolvers are only reachable
// behind the auth middleware, so its absence is a wiring bug.
func caller(ctx context.Context) (auth.Identity, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Identity{}, errorf(CodeUnauthenticated, "Not authenticated")
	}
	return id, nil
}

func canSee(who auth.Identity, c *store.Connection) bool {
	return who.Admin() || c.Visibility == string(model.VisibilityGlobal) || c.CreatedBy == who.UserID
}

func canEdit(who auth.Identity, c *store.Connection) bool {
	return who.Admin() || c.CreatedBy == who.UserID
}

// load returns the connection if the caller may see it; otherwise not found,
// exactly as for an id that does not exist.
func (r *Resolver) load(ctx context.Context, who auth.Identity, id string) (*store.Connection, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, invalid(FieldError{Loc: []any{"id"}, Msg: "Input should be a valid UUID", Type: "uuid_parsing"})
	}
	c, err := r.Store.GetConnection(ctx, who.TenantID, id)
	if err != nil {
		return nil, fromStore(err)
	}
	if !canSee(who, c) {
		return nil, notFound()
	}
	return c, nil
}

// loadForEdit is load plus the edit permission.
func (r *Resolver) loadForEdit(ctx context.Context, who auth.Identity, id string) (*store.Connection, error) {
	c, err := r.load(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if !canEdit(who, c) {
		return nil, errorf(CodeForbidden, "Only the connection's creator or a tenant admin can change it")
	}
	return c, nil
}

// getConnection is Query.connection: nil when absent or not visible.
func (r *Resolver) getConnection(ctx context.Context, id string) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.load(ctx, who, id)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := toModel(c)
	r.primeUsers(ctx, false, m)
	return m, nil
}

// getConnectionBySlug is Query.connectionBySlug: nil when absent or not visible.
func (r *Resolver) getConnectionBySlug(ctx context.Context, slug string) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !storable(slug) {
		return nil, invalid(notStorable([]any{"slug"}))
	}
	c, err := r.Store.GetConnectionBySlug(ctx, who.TenantID, slug)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !canSee(who, c)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := toModel(c)
	r.primeUsers(ctx, false, m)
	return m, nil
}

// ListInput is the list query after parsing, before validation.
type ListInput struct {
	Search *string
	Sort   *model.ConnectionSort
	Order  *model.SortOrder
	Limit  *int
	Offset *int
	Cursor *string
}

func (r *Resolver) listConnections(ctx context.Context, in ListInput) (*model.ConnectionList, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p := store.ListParams{TenantID: who.TenantID, ViewerID: who.UserID, ViewerAdmin: who.Admin(),
		Sort: string(model.ConnectionSortName), Limit: DefaultLimit}
	var errs []FieldError
	if in.Search != nil {
		p.Search = strings.TrimSpace(*in.Search)
		if !storable(p.Search) {
			errs = append(errs, notStorable([]any{"search"}))
		}
	}
	if in.Sort != nil {
		if !in.Sort.IsValid() {
			errs = append(errs, enumError([]any{"sort"}, enumStrings(model.AllConnectionSort)))
		}
		p.Sort = string(*in.Sort)
	}
	if in.Order != nil {
		if !in.Order.IsValid() {
			errs = append(errs, enumError([]any{"order"}, enumStrings(model.AllSortOrder)))
		}
		p.Desc = *in.Order == model.SortOrderDesc
	}
	if in.Limit != nil {
		switch l := *in.Limit; {
		case l < 1:
			errs = append(errs, FieldError{Loc: []any{"limit"}, Msg: "Input should be greater than or equal to 1", Type: "greater_than_equal"})
		case l > MaxLimit:
			errs = append(errs, FieldError{Loc: []any{"limit"}, Msg: fmt.Sprintf("Input should be less than or equal to %d", MaxLimit), Type: "less_than_equal"})
		}
		p.Limit = *in.Limit
	}
	if in.Offset != nil {
		if *in.Offset < 0 {
			errs = append(errs, FieldError{Loc: []any{"offset"}, Msg: "Input should be greater than or equal to 0", Type: "greater_than_equal"})
		}
		p.Offset = *in.Offset
	}
	if in.Cursor != nil && *in.Cursor != "" {
		p.Cursor = *in.Cursor
		p.Offset = 0
		if !cursorStorable(p.Cursor) {
			errs = append(errs, FieldError{Loc: []any{"cursor"}, Msg: "Invalid cursor: it is malformed or was made for another sort or order", Type: "value_error"})
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	res, err := r.Store.ListConnections(ctx, p)
	if err != nil {
		return nil, fromStore(err)
	}
	out := &model.ConnectionList{Connections: make([]*model.Connection, 0, len(res.Connections)),
		Total: res.Total, HasNext: res.HasNext, Limit: p.Limit, Offset: p.Offset}
	for _, c := range res.Connections {
		out.Connections = append(out.Connections, toModel(c))
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	r.primeUsers(ctx, true, out.Connections...)
	return out, nil
}

// ListUsers returns every creator and updater of the page, through the
// request's loader (one query however many connections).
func (r *Resolver) ListUsers(ctx context.Context, list *model.ConnectionList) ([]*model.User, error) {
	ids := userIDs(list.Connections)
	users, errs := r.loaders(ctx).usersLoader().LoadMany(ctx, ids)()
	out := make([]*model.User, 0, len(users))
	for i, u := range users {
		if len(errs) > i && errs[i] != nil {
			return nil, errs[i]
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

func (r *Resolver) user(ctx context.Context, id string) (*model.User, error) {
	if id == "" {
		return nil, nil
	}
	return r.loaders(ctx).usersLoader().Load(ctx, id)()
}

// CreateInput is a create request after parsing. Credentials values that are
// not strings are reported as string_type.
type CreateInput = model.CreateConnectionInput

// createPlan is a create request that passed validation.
type createPlan struct {
	drv        providers.Driver
	cfg        map[string]any
	secrets    map[string]string
	slug       string
	autoSlug   bool
	visibility model.Visibility
}

// planCreate validates a create request and reports every problem at once,
// including what the driver's Open refuses (openCheck).
func (r *Resolver) planCreate(ctx context.Context, in CreateInput) (*createPlan, error) {
	var errs []FieldError
	p := &createPlan{autoSlug: true, visibility: model.VisibilityPrivate}
	errs = append(errs, checkName([]any{"name"}, in.Name)...)
	drv, ok := r.Providers.Get(string(in.Provider))
	if !ok {
		errs = append(errs, enumError([]any{"provider"}, r.Providers.Names()))
	}
	if s := in.Slug.Value(); s != nil {
		errs = append(errs, checkSlug([]any{"slug"}, *s)...)
		p.slug, p.autoSlug = *s, false
	} else {
		p.slug = Slugify(in.Name)
	}
	if v := in.Visibility.Value(); v != nil {
		if !v.IsValid() {
			errs = append(errs, enumError([]any{"visibility"}, enumStrings(model.AllVisibility)))
		}
		p.visibility = *v
	}
	var serrs []FieldError
	p.secrets, serrs = stringMap([]any{"credentials"}, in.Credentials.Value())
	errs = append(errs, serrs...)
	if drv != nil {
		var verrs []FieldError
		p.cfg, verrs = validateSpec(drv.Spec(), orEmpty(in.Config.Value()), p.secrets)
		errs = append(errs, verrs...)
		if len(verrs) == 0 && len(serrs) == 0 {
			errs = append(errs, r.openCheck(ctx, drv, p.cfg, p.secrets)...)
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	p.drv = drv
	return p, nil
}

// openCheck runs the driver's Open, which does no network I/O, on settings
// that passed the spec's validation, so a config Open would refuse (a port
// out of range, a malformed URL, an extra header that would carry a
// credential) is a 422 at its field when it is sent, not an invalid_config
// at the first verify. The field is the one the driver's error names
// (providers.InvalidField), under "credentials" for a secret; ["config"]
// when it names none. Other failures of Open are left to the provider call.
func (r *Resolver) openCheck(ctx context.Context, drv providers.Driver, settings map[string]any, secrets map[string]string) []FieldError {
	cfg := r.providerConfig(settings, secrets, nil)
	conn, err := drv.Open(ctx, cfg)
	if err == nil {
		conn.Close()
		return nil
	}
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
		return nil
	}
	loc := []any{"config"}
	if len(pe.Field) > 0 {
		if f, ok := drv.Spec().Field(pe.Field[0]); ok {
			if f.Secret {
				loc = []any{"credentials"}
			}
			for _, k := range pe.Field {
				loc = append(loc, k)
			}
		}
	}
	return []FieldError{{Loc: loc, Msg: "Value error, " + providers.RedactMessage(pe.Message, cfg.Secrets), Type: "value_error"}}
}

func (r *Resolver) createConnection(ctx context.Context, in CreateInput) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := r.planCreate(ctx, in)
	if err != nil {
		return nil, err
	}
	if in.IsDefault.Value() != nil && *in.IsDefault.Value() {
		if err := canBeDefault(who, string(p.visibility)); err != nil {
			return nil, err
		}
	}
	now := store.Now()
	c := &store.Connection{
		ID: store.NewID(), TenantID: who.TenantID, Name: in.Name, Slug: p.slug, Provider: p.drv.Name(),
		Config: p.cfg, Status: string(model.ConnectionStatusNeedsVerification), Visibility: string(p.visibility),
		IsDefault: in.IsDefault.Value() != nil && *in.IsDefault.Value(), VerificationDetails: store.JSONMap{},
		CreatedAt: now, UpdatedAt: now, CreatedBy: who.UserID, UpdatedBy: who.UserID,
	}
	if err := r.Store.InsertConnection(ctx, c, p.secrets, p.autoSlug); err != nil {
		return nil, fromStore(err)
	}
	r.Log.InfoContext(ctx, "connection created", "connection_id", c.ID, "provider", c.Provider, "user_id", who.UserID)
	return r.getFresh(ctx, who, c.ID)
}

// getFresh rereads a connection after a write, so responses show exactly
// what was stored (including a default switch done in the same transaction).
func (r *Resolver) getFresh(ctx context.Context, who auth.Identity, id string) (*model.Connection, error) {
	c, err := r.Store.GetConnection(ctx, who.TenantID, id)
	if err != nil {
		return nil, fromStore(err)
	}
	m := toModel(c)
	r.primeUsers(ctx, false, m)
	return m, nil
}

// UpdateInput is an update request after parsing.
type UpdateInput = model.UpdateConnectionInput

// maxCASRetries bounds how often a write is recomputed after losing a race.
const maxCASRetries = 5

func (r *Resolver) updateConnection(ctx context.Context, id string, in UpdateInput) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		c, err := r.loadForEdit(ctx, who, id)
		if err != nil {
			return nil, err
		}
		secrets, changed, err := r.applyUpdate(ctx, c, in)
		if err != nil {
			return nil, err
		}
		if c.IsDefault && in.Visibility.IsSet() && c.Visibility != string(model.VisibilityGlobal) {
			return nil, errorf(CodeConflict, "This connection is the tenant's default %s connection, which every member uses: it must stay global. Make another global connection the default first", c.Provider)
		}
		if changed && c.Status != string(model.ConnectionStatusDisabled) {
			// What was verified is no longer what is stored: the last
			// check's outcome goes with it.
			c.Status = string(model.ConnectionStatusNeedsVerification)
			clearVerification(c)
		}
		c.UpdatedAt, c.UpdatedBy = store.Now(), who.UserID
		err = r.Store.UpdateConnection(ctx, c, secrets)
		if errors.Is(err, store.ErrVersionConflict) && attempt < maxCASRetries {
			continue
		}
		if err != nil {
			return nil, fromStore(err)
		}
		r.Log.InfoContext(ctx, "connection updated", "connection_id", c.ID, "user_id", who.UserID)
		return r.getFresh(ctx, who, c.ID)
	}
}

// applyUpdate applies in to c (in memory) and returns the new secrets (nil
// when unchanged) and whether config or credentials changed.
func (r *Resolver) applyUpdate(ctx context.Context, c *store.Connection, in UpdateInput) (map[string]string, bool, error) {
	var errs []FieldError
	if in.Name.IsSet() {
		if n := in.Name.Value(); n == nil {
			errs = append(errs, FieldError{Loc: []any{"name"}, Msg: "Input should be a valid string", Type: "string_type"})
		} else {
			errs = append(errs, checkName([]any{"name"}, *n)...)
			c.Name = *n
		}
	}
	if in.Slug.IsSet() {
		if s := in.Slug.Value(); s == nil {
			errs = append(errs, FieldError{Loc: []any{"slug"}, Msg: "Input should be a valid string", Type: "string_type"})
		} else {
			errs = append(errs, checkSlug([]any{"slug"}, *s)...)
			c.Slug = *s
		}
	}
	if in.Visibility.IsSet() {
		if v := in.Visibility.Value(); v == nil || !v.IsValid() {
			errs = append(errs, enumError([]any{"visibility"}, enumStrings(model.AllVisibility)))
		} else {
			c.Visibility = string(*v)
		}
	}
	drv, ok := r.Providers.Get(c.Provider)
	if !ok {
		return nil, false, fmt.Errorf("connection %s has unknown provider %q", c.ID, c.Provider)
	}
	spec := drv.Spec()
	stored, err := r.Store.OpenSecrets(c)
	unreadable := errors.Is(err, store.ErrUnreadable)
	switch {
	case unreadable && !in.Config.IsSet() && len(in.Credentials.Value()) == 0:
		// A name, slug or visibility edit needs no secrets: the blob is
		// kept as it is, still to be replaced.
		if len(errs) > 0 {
			return nil, false, invalid(errs...)
		}
		return nil, false, nil
	case unreadable:
		if ferrs := reenterAll(c, in.Credentials.Value()); len(ferrs) > 0 {
			return nil, false, invalid(append(errs, ferrs...)...)
		}
		stored = map[string]string{}
	case err != nil:
		return nil, false, err
	}
	proposedCfg := map[string]any(c.Config)
	if in.Config.IsSet() {
		proposedCfg = orEmpty(in.Config.Value())
	}
	merged, sent, serrs := mergeSecrets(stored, in.Credentials.Value())
	errs = append(errs, serrs...)
	cfg, verrs := validateSpec(spec, proposedCfg, withoutToken(merged))
	errs = append(errs, verrs...)
	if len(verrs) == 0 {
		errs = append(errs, targetGuard(spec, c.Config, cfg, merged, sent)...)
		if len(serrs) == 0 && (in.Config.IsSet() || len(in.Credentials.Value()) > 0) {
			// Only what the request sends is checked: a rename of a
			// connection stored before a check existed still works.
			errs = append(errs, r.openCheck(ctx, drv, cfg, withoutToken(merged))...)
		}
	}
	if len(errs) > 0 {
		return nil, false, invalid(errs...)
	}
	changed := unreadable || !equalJSON(map[string]any(c.Config), cfg) || !maps.Equal(withoutToken(stored), withoutToken(merged))
	if changed {
		// A token minted from the old settings or grant must not outlive
		// them: the next call obtains one from what was just saved.
		delete(merged, oauthTokenKey)
	}
	c.Config = cfg
	if maps.Equal(stored, merged) && !unreadable {
		return nil, changed, nil
	}
	return merged, changed, nil
}

// unreadableMsg is what a caller is told about a connection whose stored
// credentials do not open (store.ErrUnreadable).
const unreadableMsg = "stored credentials cannot be opened; enter them again"

// reenterAll checks that edits sends a value (or null) for every secret the
// connection's row names, which is what it takes to replace credentials
// that no longer open: nothing of them can be kept. It returns a "missing"
// problem (422) for each secret not sent.
func reenterAll(c *store.Connection, edits map[string]any) []FieldError {
	var errs []FieldError
	for _, name := range c.SecretFields {
		if strings.HasPrefix(name, "_") {
			continue // reserved (an OAuth token): dropped with the rest
		}
		if _, ok := edits[name]; !ok {
			errs = append(errs, FieldError{Loc: []any{"credentials", name},
				Msg:  "Field required: the stored credentials cannot be opened, so every secret must be entered again",
				Type: "missing"})
		}
	}
	return errs
}

// mergeSecrets applies per-key credential edits (string sets, null removes,
// absent keeps) to stored and returns the result and the keys sent as strings.
func mergeSecrets(stored map[string]string, edits map[string]any) (map[string]string, map[string]bool, []FieldError) {
	merged := maps.Clone(stored)
	if merged == nil {
		merged = map[string]string{}
	}
	sent := map[string]bool{}
	var errs []FieldError
	for _, k := range sortedKeys(edits) {
		switch v := edits[k].(type) {
		case nil:
			delete(merged, k)
		case string:
			merged[k] = v
			sent[k] = true
		default:
			errs = append(errs, FieldError{Loc: []any{"credentials", k}, Msg: "Input should be a valid string", Type: "string_type"})
		}
	}
	return merged, sent, errs
}

// withoutToken returns m without the reserved token key: what validation and
// change detection look at.
func withoutToken(m map[string]string) map[string]string {
	out := maps.Clone(m)
	delete(out, oauthTokenKey)
	return out
}

// targetGuard refuses a change of a field that says where the connection
// goes unless every stored secret is re-sent with it: otherwise anyone allowed
// to edit could point the stored secrets at their own server.
func targetGuard(spec providers.Spec, oldCfg, newCfg map[string]any, merged map[string]string, sent map[string]bool) []FieldError {
	if !movedTarget(spec, oldCfg, newCfg) {
		return nil
	}
	var moved []string
	for _, f := range spec.TargetFields() {
		if !equalJSON(oldCfg[f], newCfg[f]) {
			moved = append(moved, f)
		}
	}
	var errs []FieldError
	for _, k := range sortedKeys(merged) {
		if k == oauthTokenKey || sent[k] {
			continue
		}
		errs = append(errs, FieldError{Loc: []any{"credentials", k},
			Msg:  fmt.Sprintf("Field required: changing %s moves the connection, so the stored secrets must be sent again", strings.Join(moved, ", ")),
			Type: "missing"})
	}
	return errs
}

func movedTarget(spec providers.Spec, oldCfg, newCfg map[string]any) bool {
	for _, f := range spec.TargetFields() {
		if !equalJSON(oldCfg[f], newCfg[f]) {
			return true
		}
	}
	return false
}

func (r *Resolver) deleteConnection(ctx context.Context, id string) (bool, error) {
	who, err := caller(ctx)
	if err != nil {
		return false, err
	}
	c, err := r.loadForEdit(ctx, who, id)
	if err != nil {
		return false, err
	}
	if err := r.Store.DeleteConnection(ctx, who.TenantID, c.ID); err != nil {
		return false, fromStore(err)
	}
	r.connCache().forget(c.ID)
	r.Log.InfoContext(ctx, "connection deleted", "connection_id", c.ID, "user_id", who.UserID)
	return true, nil
}

// setStatus moves a connection to status; from, when set, restricts the
// statuses it applies to (others are returned unchanged).
func (r *Resolver) setStatus(ctx context.Context, id string, status model.ConnectionStatus, from ...model.ConnectionStatus) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		c, err := r.loadForEdit(ctx, who, id)
		if err != nil {
			return nil, err
		}
		if c.Status == string(status) || (len(from) > 0 && !slices.Contains(from, model.ConnectionStatus(c.Status))) {
			m := toModel(c)
			r.primeUsers(ctx, false, m)
			return m, nil
		}
		c.Status, c.UpdatedAt, c.UpdatedBy = string(status), store.Now(), who.UserID
		if status == model.ConnectionStatusNeedsVerification {
			// Reactivated: nothing is known of it until it is verified
			// again, so no error of a check before it was disabled stays.
			clearVerification(c)
		}
		err = r.Store.UpdateConnection(ctx, c, nil)
		if errors.Is(err, store.ErrVersionConflict) && attempt < maxCASRetries {
			continue
		}
		if err != nil {
			return nil, fromStore(err)
		}
		if status == model.ConnectionStatusDisabled {
			r.connCache().forget(c.ID)
		}
		r.Log.InfoContext(ctx, "connection status changed", "connection_id", c.ID, "status", status, "user_id", who.UserID)
		return r.getFresh(ctx, who, c.ID)
	}
}

func (r *Resolver) setDefault(ctx context.Context, id string) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.load(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := canBeDefault(who, c.Visibility); err != nil {
		return nil, err
	}
	if _, err := r.Store.SetDefault(ctx, who.TenantID, c.ID, who.UserID); err != nil {
		return nil, fromStore(err)
	}
	return r.getFresh(ctx, who, c.ID)
}

// canBeDefault refuses to make a connection of visibility the tenant's
// default unless who is an admin (the default is a tenant-wide choice:
// every member's calls that name no connection use it) and the connection
// is global (a private one is invisible to the members who would use it).
func canBeDefault(who auth.Identity, visibility string) error {
	if !who.Admin() {
		return errorf(CodeForbidden, "Only a tenant admin can choose the default connection: it is the one every member of the tenant uses")
	}
	if visibility != string(model.VisibilityGlobal) {
		return errorf(CodeConflict, "Only a global connection can be the tenant's default: a private one is invisible to the members who would use it. Make it global first")
	}
	return nil
}

// clearVerification drops the outcome of the last check (its error, code
// and details) from c; lastVerifiedAt still says when it ran.
func clearVerification(c *store.Connection) {
	c.VerificationError, c.VerificationErrorCode, c.VerificationDetails = nil, nil, store.JSONMap{}
}

// editSettings lists the config and every secret field of the provider's
// spec with whether it is set.
func (r *Resolver) editSettings(ctx context.Context, c *model.Connection) (*model.EditSettings, error) {
	drv, ok := r.Providers.Get(string(c.Provider))
	out := &model.EditSettings{Config: c.Config, SecretFields: []*model.SecretField{}}
	if !ok {
		return out, nil
	}
	for _, f := range drv.Spec().SecretFields() {
		out.SecretFields = append(out.SecretFields, &model.SecretField{Name: f.Name, Configured: slices.Contains(c.SecretFieldNames, f.Name)})
	}
	return out, nil
}

// EditSettingsByID is editSettings for a connection id (the REST path).
func (r *Resolver) EditSettingsByID(ctx context.Context, id string) (*model.EditSettings, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.load(ctx, who, id)
	if err != nil {
		return nil, err
	}
	return r.editSettings(ctx, toModel(c))
}

func (r *Resolver) me(ctx context.Context) (*model.Me, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return &model.Me{ID: who.UserID, Name: who.UserName, Email: who.Email, Role: model.Role(who.Role),
		Tenant: &model.Tenant{ID: who.TenantID, Name: who.TenantName}}, nil
}

func (r *Resolver) providerSpecs() []*model.ProviderSpec {
	var out []*model.ProviderSpec
	for _, s := range r.Providers.Specs() {
		ps := &model.ProviderSpec{Name: model.Provider(s.Name), Label: s.Label, Category: s.Category,
			AuthKinds: orEmptyList(s.AuthKinds), Capabilities: orEmptyList(s.Capabilities), Fields: []*model.ProviderField{}}
		if s.DocsNote != "" {
			ps.DocsNote = &s.DocsNote
		}
		for _, f := range s.Fields {
			typ := string(f.Type)
			if f.Secret || typ == "" {
				typ = string(providers.TypeString)
			}
			pf := &model.ProviderField{Name: f.Name, Label: f.Label, Type: typ, Secret: f.Secret, Required: f.Required,
				Default: f.Default, Enum: f.Enum, Target: f.Target}
			if f.Help != "" {
				pf.Help = &f.Help
			}
			if f.RequiredWhen != nil {
				pf.RequiredWhen = &model.FieldCondition{Field: f.RequiredWhen.Field, Values: f.RequiredWhen.Values}
			}
			ps.Fields = append(ps.Fields, pf)
		}
		out = append(out, ps)
	}
	return out
}

// validateSpec runs the spec's validation and converts its problems.
func validateSpec(spec providers.Spec, cfg map[string]any, secrets map[string]string) (map[string]any, []FieldError) {
	out, ferrs := spec.Validate(cfg, secrets)
	errs := make([]FieldError, 0, len(ferrs))
	for _, fe := range ferrs {
		loc := make([]any, len(fe.Loc))
		for i, l := range fe.Loc {
			loc[i] = l
		}
		errs = append(errs, FieldError{Loc: loc, Msg: fe.Msg, Type: fe.Type})
	}
	return out, errs
}

func checkName(loc []any, name string) []FieldError {
	switch n := utf8.RuneCountInString(name); {
	case !storable(name):
		return []FieldError{notStorable(loc)}
	case strings.TrimSpace(name) == "":
		return []FieldError{{Loc: loc, Msg: "String should have at least 1 character", Type: "string_too_short"}}
	case n > MaxNameLen:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("String should have at most %d characters", MaxNameLen), Type: "string_too_long"}}
	}
	return nil
}

// storable reports whether s can be stored and searched as text on both
// databases: valid UTF-8 without NUL bytes (PostgreSQL refuses both, and
// a REST path or query string can carry either).
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// notStorable is the problem of a value storable refuses.
func notStorable(loc []any) FieldError {
	return FieldError{Loc: loc, Msg: "Value error, must be valid UTF-8 without NUL bytes", Type: "value_error"}
}

func checkSlug(loc []any, slug string) []FieldError {
	switch {
	case slug == "":
		return []FieldError{{Loc: loc, Msg: "String should have at least 1 character", Type: "string_too_short"}}
	case len(slug) > MaxSlugLen:
		return []FieldError{{Loc: loc, Msg: fmt.Sprintf("String should have at most %d characters", MaxSlugLen), Type: "string_too_long"}}
	case !slugPattern.MatchString(slug):
		return []FieldError{{Loc: loc, Msg: "String should match pattern '^[a-z0-9-]{1,100}$'", Type: "string_pattern_mismatch"}}
	}
	return nil
}

// Slugify derives a slug from a name: lowercase ASCII letters and digits,
// runs of anything else turned into one "-", trimmed, at most MaxSlugLen
// characters (leaving room for a "-N" suffix). A name with nothing usable
// gives "connection".
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	s := b.String()
	if len(s) > MaxSlugLen-4 {
		s = strings.TrimRight(s[:MaxSlugLen-4], "-")
	}
	if s == "" {
		return "connection"
	}
	return s
}

// cursorStorable reports whether a list cursor (base64url of JSON) holds
// only values the databases can compare: a forged one with a NUL (raw or
// escaped) or invalid UTF-8 in it would otherwise reach PostgreSQL. A cursor
// that does not decode is left to the store, which refuses it.
func cursorStorable(cur string) bool {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return true
	}
	return utf8.Valid(b) && !bytes.ContainsRune(b, 0) && !bytes.Contains(b, []byte(`\u0000`))
}

func enumError(loc []any, allowed []string) FieldError {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = "'" + a + "'"
	}
	msg := "Input should be " + q[0]
	if len(q) > 1 {
		msg = "Input should be " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
	return FieldError{Loc: loc, Msg: msg, Type: "enum"}
}

func enumStrings[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// stringMap converts a credentials object to strings; nulls are dropped and
// other types are string_type errors.
func stringMap(loc []any, m map[string]any) (map[string]string, []FieldError) {
	out := map[string]string{}
	var errs []FieldError
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case string:
			out[k] = v
		case nil:
		default:
			errs = append(errs, FieldError{Loc: append(slices.Clone(loc), k), Msg: "Input should be a valid string", Type: "string_type"})
		}
	}
	return out, errs
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptyList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// toModel maps a stored row to the API model; maps are never nil.
func toModel(c *store.Connection) *model.Connection {
	cfg := map[string]any(c.Config)
	if cfg == nil {
		cfg = map[string]any{}
	}
	details := map[string]any(c.VerificationDetails)
	if details == nil {
		details = map[string]any{}
	}
	names := slices.DeleteFunc(slices.Clone([]string(c.SecretFields)), func(n string) bool { return strings.HasPrefix(n, "_") })
	return &model.Connection{
		ID: c.ID, Name: c.Name, Slug: c.Slug, Provider: model.Provider(c.Provider), Config: cfg,
		HasCredentials: len(names) > 0, Status: model.ConnectionStatus(c.Status), Visibility: model.Visibility(c.Visibility),
		IsDefault: c.IsDefault, IsFromTemplate: c.IsFromTemplate, LastUsedAt: utc(c.LastUsedAt), LastVerifiedAt: utc(c.LastVerifiedAt),
		VerificationError: c.VerificationError, VerificationErrorCode: c.VerificationErrorCode, VerificationDetails: details,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(), CreatedBy: c.CreatedBy, UpdatedBy: c.UpdatedBy,
		SecretFieldNames: names, Stored: c,
	}
}
