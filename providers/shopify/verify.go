package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// shopQuery is the cheapest Admin GraphQL read: the shop itself (cost 1).
const shopQuery = `{ shop { name myshopifyDomain plan { displayName } } }`

// Verify reads the shop through the Admin GraphQL API, first obtaining an
// access token with the client-credentials grant when auth_mode says so.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	var out struct {
		Data *struct {
			Shop *struct {
				Name            string `json:"name"`
				MyshopifyDomain string `json:"myshopifyDomain"`
				Plan            *struct {
					DisplayName string `json:"displayName"`
				} `json:"plan"`
			} `json:"shop"`
		} `json:"data"`
		Errors     json.RawMessage `json:"errors"`
		Extensions struct {
			Cost *queryCost `json:"cost"`
		} `json:"extensions"`
	}
	resp, err := c.api.Do(ctx, providers.Call{Method: http.MethodPost, JSON: map[string]string{"query": shopQuery}})
	if err != nil {
		return nil, err
	}
	if err := resp.Decode(&out); err != nil {
		return nil, err
	}
	var scopes []string
	if sent := resp.OAuthToken; sent != nil { // client credentials: the token the answer is for
		if s, _ := sent.Extra("scope").(string); s != "" {
			for _, sc := range strings.Split(s, ",") {
				if sc = strings.TrimSpace(sc); sc != "" {
					scopes = append(scopes, sc)
				}
			}
		}
	}
	if errs := parseErrors(out.Errors); len(errs) > 0 {
		return nil, c.graphQLError(errs, out.Extensions.Cost, resp.Redact)
	}
	if out.Data == nil || out.Data.Shop == nil {
		return nil, providers.Errorf(providers.CodeProviderError, "shopify: the answer held no shop")
	}
	shop := out.Data.Shop
	details := map[string]any{
		"shop_name":        shop.Name,
		"myshopify_domain": shop.MyshopifyDomain,
		"api_version":      c.version,
		"auth_mode":        c.mode,
	}
	if shop.Plan != nil && shop.Plan.DisplayName != "" {
		details["plan"] = shop.Plan.DisplayName
	}
	if scopes != nil {
		details["scopes"] = scopes
	}
	return &providers.VerifyResult{Details: details}, nil
}

// queryCost is extensions.cost of a GraphQL answer.
type queryCost struct {
	RequestedQueryCost float64 `json:"requestedQueryCost"`
	ThrottleStatus     struct {
		MaximumAvailable   float64 `json:"maximumAvailable"`
		CurrentlyAvailable float64 `json:"currentlyAvailable"`
		RestoreRate        float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

// retryAfter is how long until the bucket holds enough points for the query.
func (q *queryCost) retryAfter() time.Duration {
	if q == nil || q.ThrottleStatus.RestoreRate <= 0 {
		return time.Second
	}
	missing := q.RequestedQueryCost - q.ThrottleStatus.CurrentlyAvailable
	return time.Duration(math.Max(1, math.Ceil(missing/q.ThrottleStatus.RestoreRate))) * time.Second
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// parseErrors reads Shopify's "errors", which is a GraphQL error list on
// 200 answers but a string or an object of strings on REST-style failures.
func parseErrors(raw json.RawMessage) []gqlError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []gqlError
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []gqlError{{Message: s}}
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			parts = append(parts, fmt.Sprintf("%s: %v", k, obj[k]))
		}
		return []gqlError{{Message: strings.Join(parts, "; ")}}
	}
	return nil
}

func joinMessages(errs []gqlError) string {
	var msgs []string
	for _, e := range errs {
		if e.Message != "" {
			msgs = append(msgs, e.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// graphQLError classifies errors in a 200 answer: throttling, missing access,
// anything else.
func (c *conn) graphQLError(errs []gqlError, cost *queryCost, redact func(string) string) *providers.Error {
	detail := redact(joinMessages(errs))
	for _, e := range errs {
		switch {
		case e.Message == "Throttled" || e.Extensions.Code == "THROTTLED":
			return &providers.Error{Code: providers.CodeRateLimited, Retryable: true, RetryAfter: cost.retryAfter(),
				Message: "shopify: the shop's GraphQL query budget is exhausted (Throttled); try again shortly"}
		case e.Extensions.Code == "ACCESS_DENIED":
			return &providers.Error{Code: providers.CodePermissionDenied,
				Message: providers.WithDetail("shopify: the app may not read the shop (ACCESS_DENIED); check its access scopes", detail)}
		}
	}
	return &providers.Error{Code: providers.CodeProviderError, Message: providers.WithDetail("shopify: the GraphQL query failed", detail)}
}

// statusError classifies a non-2xx answer with Shopify's documented meanings.
func (c *conn) statusError(a providers.Answer) *providers.Error {
	var doc struct {
		Errors json.RawMessage `json:"errors"`
	}
	detail := ""
	if json.Unmarshal(a.Body, &doc) == nil {
		detail = joinMessages(parseErrors(doc.Errors))
	} else if s := strings.TrimSpace(string(a.Body)); !strings.HasPrefix(s, "<") {
		detail = s
	}
	detail = a.Redact(detail)
	e := providers.StatusError("shopify", a.Response, "")
	switch a.StatusCode {
	case http.StatusUnauthorized:
		if c.mode == "client_credentials" {
			e.Message = "shopify: a fresh access token obtained with the client credentials was rejected (HTTP 401); check the app is installed on this shop"
		} else {
			e.Message = "shopify: the access token was rejected (HTTP 401); check access_token and that the app is still installed"
		}
	case http.StatusPaymentRequired:
		e.Code = providers.CodePermissionDenied
		e.Message = "shopify: the shop is frozen for an unpaid Shopify bill (HTTP 402 Payment Required); the shop owner must settle it"
	case http.StatusForbidden:
		e.Message = "shopify: the app lacks an access scope needed to read the shop (HTTP 403)"
	case http.StatusNotFound:
		e.Message = fmt.Sprintf("shopify: the shop or API version was not found (HTTP 404); check shop_domain %q and that api_version %q is a supported Shopify API version", c.shop, c.version)
	case http.StatusLocked:
		e.Code = providers.CodePermissionDenied
		e.Message = "shopify: the shop is locked by Shopify (HTTP 423 Locked); the shop owner must contact Shopify support"
	}
	e.Message = providers.WithDetail(e.Message, detail)
	return e
}
