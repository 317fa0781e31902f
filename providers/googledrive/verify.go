package googledrive

import (
	"context"
	"fmt"
	"strings"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/googleauth"
)

var _ providers.Verifier = (*conn)(nil)

const folderMimeType = "application/vnd.google-apps.folder"

// Verify calls about.get for the authorised user (the cheapest Drive call;
// its fields parameter is required), then checks the configured shared drive
// and root folder, when set, exist and are visible to that user.
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	about, err := c.svc.About.Get().Fields("user(displayName,emailAddress)").Context(ctx).Do()
	if err != nil {
		return nil, c.auth.APIError(err)
	}
	details := map[string]any{"auth_mode": c.auth.Mode()}
	if about.User != nil {
		details["email"] = about.User.EmailAddress
		details["display_name"] = about.User.DisplayName
	}
	if sa := c.auth.ServiceAccountEmail(); sa != "" {
		details["service_account"] = sa
	}
	if id := strings.TrimSpace(c.cfg.String("shared_drive_id")); id != "" {
		d, err := c.svc.Drives.Get(id).Fields("id,name").Context(ctx).Do()
		if err != nil {
			return nil, notFound(c.auth, err, fmt.Sprintf("the shared drive %q was not found, or the account is not a member of it", id))
		}
		details["shared_drive_name"] = d.Name
	}
	if id := strings.TrimSpace(c.cfg.String("root_folder_id")); id != "" {
		f, err := c.svc.Files.Get(id).Fields("id,name,mimeType,trashed").SupportsAllDrives(true).Context(ctx).Do()
		if err != nil {
			return nil, notFound(c.auth, err, fmt.Sprintf("the root folder %q was not found, or is not shared with the account", id))
		}
		if f.MimeType != folderMimeType {
			return nil, providers.Errorf(providers.CodeInvalidConfig,
				"google_drive: root_folder_id %q is a file (%s), not a folder", id, f.MimeType)
		}
		if f.Trashed {
			return nil, providers.Errorf(providers.CodeNotFound, "google_drive: the root folder %q is in the trash", id)
		}
		details["root_folder_name"] = f.Name
	}
	return &providers.VerifyResult{Details: details}, nil
}

// notFound classifies err, replacing the generic 404 message with msg, which
// names the configured item.
func notFound(auth *googleauth.Auth, err error, msg string) error {
	e := auth.APIError(err)
	if e.Code == providers.CodeNotFound {
		e.Message = "google_drive: " + msg
	}
	return e
}
