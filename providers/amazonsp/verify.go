package amazonsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify exchanges the refresh token at Login with Amazon and lists the
// seller's marketplace participations (GET /sellers/v1/marketplaceParticipations),
// checking that every configured marketplace is among them.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
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
	if err := c.api.JSON(ctx, providers.Call{}, &out); err != nil {
		return nil, err
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
		"sandbox":      c.api.Config.Bool("sandbox"),
		"marketplaces": marketplaces,
	}}, nil
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

// statusError classifies a non-2xx answer.
func (c *conn) statusError(a providers.Answer) *providers.Error {
	errs := parseErrors(a.Body)
	var parts []string
	for _, e := range errs {
		parts = append(parts, strings.TrimPrefix(e.Code+": "+e.Message, ": "))
	}
	detail := a.Redact(strings.Join(parts, "; "))
	e := providers.StatusError("amazon_sp", a.Response, "")
	switch {
	case tokenRejected(a.StatusCode, errs):
		e.Code = providers.CodeAuthFailed
		e.Message = fmt.Sprintf("amazon_sp: a fresh LWA access token was rejected (HTTP %d); check that the refresh token belongs to this application and region", a.StatusCode)
	case a.StatusCode == http.StatusForbidden:
		e.Message = fmt.Sprintf("amazon_sp: access denied (HTTP 403); check that the seller authorised this application, that the app has the Finance and Accounting role, and that region %s is right", c.region)
	case a.StatusCode == http.StatusNotFound:
		e.Message = "amazon_sp: the Sellers API was not found (HTTP 404); check base_url and region"
	case a.StatusCode == http.StatusTooManyRequests:
		e.Message = "amazon_sp: the Sellers API quota is exceeded (HTTP 429 QuotaExceeded; about one call a minute is allowed)"
	}
	e.Message = providers.WithDetail(e.Message, detail)
	return e
}
