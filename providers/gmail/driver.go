// Package gmail is the gmail_inbox driver: attachments in a Gmail inbox through the Gmail v1 API.
package gmail

import (
	"context"
	"strings"

	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/googleauth"
)

// scope is the read-only Gmail scope every token is requested for.
const scope = "https://www.googleapis.com/auth/gmail.readonly"

// Driver is the gmail_inbox provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "gmail_inbox".
func (Driver) Name() string { return "gmail_inbox" }

// Spec returns the gmail_inbox fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs and the credentials' shape and builds the Gmail client.
// With a service account the mailbox is the impersonated user (domain-wide
// delegation). It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := providers.ParseURL("gmail_inbox", "base_url", cfg.String("base_url"))
	if err != nil {
		return nil, err
	}
	var subject string
	if cfg.String("auth_mode") == googleauth.ModeServiceAccount {
		subject = strings.TrimSpace(cfg.String("mailbox"))
		if subject == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig,
				"gmail_inbox: a service account needs mailbox, the Workspace user it reads mail as")
		}
	}
	auth, err := googleauth.New("gmail_inbox", cfg, base.Host, scope, subject)
	if err != nil {
		return nil, err
	}
	// Gmail's generated paths carry their own "gmail/v1/" prefix, so the
	// endpoint is the root URL.
	endpoint := strings.TrimRight(base.String(), "/") + "/"
	svc, err := gmail.NewService(ctx, option.WithEndpoint(endpoint), option.WithHTTPClient(auth.HTTPClient()))
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "gmail_inbox: could not build the Gmail client")
	}
	return &conn{cfg: cfg, auth: auth, svc: svc}, nil
}

// conn is one opened gmail_inbox connection.
type conn struct {
	cfg  providers.Config
	auth *googleauth.Auth
	svc  *gmail.Service
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "gmail_inbox", Label: "Gmail inbox", Category: "files",
	AuthKinds:    []string{"oauth2_refresh_token", "service_account"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "auth_mode", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"oauth_refresh_token", "service_account"}, Default: "oauth_refresh_token"},
		{Name: "client_id", Label: "OAuth client ID", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth_refresh_token"}}},
		{Name: "mailbox", Label: "Mailbox (domain-wide delegation)", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"service_account"}}},
		{Name: "query", Label: "Search query", Type: providers.TypeString, Default: "has:attachment"},
		{Name: "label_ids", Label: "Label IDs", Type: providers.TypeStringList},
		{Name: "base_url", Label: "API base URL", Type: providers.TypeString, Default: "https://gmail.googleapis.com/", Target: true},
		{Name: "token_url", Label: "Token URL", Type: providers.TypeString, Default: "https://oauth2.googleapis.com/token", Target: true},
		{Name: "client_secret", Label: "OAuth client secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth_refresh_token"}}},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth_refresh_token"}}},
		{Name: "service_account_json", Label: "Service account JSON key", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"service_account"}}},
	},
}
