package amazonsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify exchanges the refresh token at Login with Amazon and lists the
// seller's marketplace participations (GET /sellers/v1/marketplaceParticipations),
// checking that every configured marketplace is among them.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	flow := providers.OAuthFlow{
		TokenURL:     c.tokenURL,
		ClientID:     strings.TrimSpace(c.cfg.String("lwa_client_id")),
		ClientSecret: c.cfg.Secret("lwa_client_secret"),
		RefreshToken: c.cfg.Secret("refresh_token"),
		AuthStyle:    oauth2.AuthStyleInParams, // LWA takes the client credentials in the form
	}
	var (
		tok  *oauth2.Token
		resp *http.Response
		body []byte
	)
	for attempt := 0; ; attempt++ {
		var err error
		if tok, err = c.cfg.Token(ctx, "amazon_sp", flow); err != nil {
			return nil, err
		}
		if resp, body, err = c.participations(ctx, tok.AccessToken); err != nil {
			return nil, err
		}
		// A cached access token SP-API refuses is replaced once.
		if !tokenRejected(resp.StatusCode, parseErrors(body)) || attempt > 0 {
			break
		}
		flow.Rejected = tok.AccessToken
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, parseErrors(body), tok.AccessToken)
	}
	var out struct {
		Payload []struct {
			Marketplace struct {
				ID          string `json:"id"`
				CountryCode string `json:"countryCode"`
				Name        string `json:"name"`
			} `json:"marketplace"`
			Participation struct {
				IsParticipating      bool `json:"isParticipating"`
				HasSuspendedListings bool `json:"hasSuspendedListings"`
			} `json:"participation"`
			StoreName string `json:"storeName"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "amazon_sp: the answer was not the expected JSON; check base_url")
	}
	var (
		marketplaces []map[string]any
		seen         []string
	)
	for _, p := range out.Payload {
		id := p.Marketplace.ID
		if len(c.marketplaceIDs) > 0 && !slices.Contains(c.marketplaceIDs, id) {
			continue
		}
		seen = append(seen, id)
		m := map[string]any{"id": id, "country_code": p.Marketplace.CountryCode, "name": p.Marketplace.Name,
			"participating": p.Participation.IsParticipating}
		if p.Participation.HasSuspendedListings {
			m["has_suspended_listings"] = true
		}
		if p.StoreName != "" {
			m["store_name"] = p.StoreName
		}
		marketplaces = append(marketplaces, m)
	}
	var missing []string
	for _, id := range c.marketplaceIDs {
		if !slices.Contains(seen, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, providers.Errorf(providers.CodeNotFound,
			"amazon_sp: the seller does not participate in marketplace(s) %s in region %s; check marketplace_ids and region",
			strings.Join(missing, ", "), c.region)
	}
	return &providers.VerifyResult{Details: map[string]any{
		"region":       c.region,
		"sandbox":      c.cfg.Bool("sandbox"),
		"marketplaces": marketplaces,
	}}, nil
}

// participations calls GET /sellers/v1/marketplaceParticipations with token
// and reads the answer.
func (c *conn) participations(ctx context.Context, token string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.participationsURL, nil)
	if err != nil {
		return nil, nil, providers.Wrap(providers.CodeInvalidConfig, err, "amazon_sp: cannot build the request; check base_url")
	}
	req.Header.Set("x-amz-access-token", token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Junction/1.0 (Language=Go)")
	return c.cfg.Do(req, "amazon_sp")
}

// spError is one entry of SP-API's {errors:[{code,message,details}]} body.
type spError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func parseErrors(body []byte) []spError {
	var doc struct {
		Errors []spError `json:"errors"`
	}
	_ = json.Unmarshal(body, &doc)
	return doc.Errors
}

// tokenRejected reports an answer refusing the access token itself. SP-API
// answers a bad access token with 403 Unauthorized, like a missing role, so
// the message decides.
func tokenRejected(status int, errs []spError) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if status != http.StatusForbidden {
		return false
	}
	for _, e := range errs {
		if strings.Contains(strings.ToLower(e.Message), "access token") {
			return true
		}
	}
	return false
}

// statusError classifies a non-200 answer.
func (c *conn) statusError(resp *http.Response, errs []spError, token string) *providers.Error {
	var parts []string
	for _, e := range errs {
		parts = append(parts, strings.TrimPrefix(e.Code+": "+e.Message, ": "))
	}
	detail := c.redact(strings.Join(parts, "; "), token)
	e := providers.StatusError("amazon_sp", resp, "")
	switch {
	case tokenRejected(resp.StatusCode, errs):
		e.Code = providers.CodeAuthFailed
		e.Message = fmt.Sprintf("amazon_sp: a fresh LWA access token was rejected (HTTP %d); check that the refresh token belongs to this application and region", resp.StatusCode)
	case resp.StatusCode == http.StatusForbidden:
		e.Message = fmt.Sprintf("amazon_sp: access denied (HTTP 403); check that the seller authorised this application, that the app has the Finance and Accounting role, and that region %s is right", c.region)
	case resp.StatusCode == http.StatusNotFound:
		e.Message = "amazon_sp: the Sellers API was not found (HTTP 404); check base_url and region"
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Message = "amazon_sp: the Sellers API quota is exceeded (HTTP 429 QuotaExceeded; about one call a minute is allowed)"
	}
	e.Message = providers.WithDetail(e.Message, detail)
	return e
}

// redact removes the connection's secrets and the access token in use.
func (c *conn) redact(s, token string) string {
	return providers.RedactWith(s, c.cfg.Secrets, token)
}
