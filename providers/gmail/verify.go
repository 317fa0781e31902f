package gmail

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify calls users.getProfile for "me" (1 quota unit): the authorised user,
// or the impersonated mailbox with a service account.
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	p, err := c.svc.Users.GetProfile("me").Context(ctx).Do()
	if err != nil {
		e := c.auth.APIError(err)
		if e.Code == providers.CodeNotFound {
			e.Message = "gmail_inbox: the mailbox was not found (HTTP 404); check the account has Gmail enabled"
		}
		return nil, e
	}
	details := map[string]any{
		"auth_mode":      c.auth.Mode(),
		"email":          p.EmailAddress,
		"messages_total": p.MessagesTotal,
		"threads_total":  p.ThreadsTotal,
	}
	if sa := c.auth.ServiceAccountEmail(); sa != "" {
		details["service_account"] = sa
	}
	return &providers.VerifyResult{Details: details}, nil
}
