package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/providers"
)

const name = "mlflow"

// searchPath is the experiments search endpoint of the MLflow REST API.
const searchPath = "/api/2.0/mlflow/experiments/search"

var _ providers.Verifier = (*conn)(nil)

// Verify searches experiments with max_results 1: the cheapest call that
// needs the credentials (unlike /health).
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	resp, err := c.api.Do(ctx, providers.Call{Method: http.MethodPost, Path: searchPath, JSON: map[string]int{"max_results": 1}})
	if err != nil {
		return nil, err
	}
	var out struct {
		Experiments []struct {
			ID   string `json:"experiment_id"`
			Name string `json:"name"`
		} `json:"experiments"`
		NextPageToken string `json:"next_page_token"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, providers.Errorf(providers.CodeProviderError,
			"%s: %s answered HTTP %d but not with MLflow JSON; is this an MLflow tracking server?", name, searchPath, resp.StatusCode)
	}
	details := map[string]any{
		"experiments_visible": len(out.Experiments),
		"more_experiments":    out.NextPageToken != "",
	}
	if len(out.Experiments) > 0 {
		details["first_experiment"] = out.Experiments[0].Name
	}
	return &providers.VerifyResult{Details: details}, nil
}

// apiError classifies an MLflow error answer ({"error_code", "message"}), or
// the plain-text answers of the basic-auth app.
func apiError(a providers.Answer) *providers.Error {
	var me struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	isJSON := json.Unmarshal(a.Body, &me) == nil
	detail := me.Message
	if me.Code != "" {
		detail = me.Code + ": " + me.Message
	} else if t := strings.TrimSpace(string(a.Body)); !isJSON && len(t) < 300 && !strings.HasPrefix(t, "<") &&
		strings.HasPrefix(a.Header.Get("Content-Type"), "text/") {
		detail = t // the basic-auth app's "You are not authenticated..."
	}
	detail = a.Redact(strings.Join(strings.Fields(detail), " "))
	e := providers.StatusError(name, a.Response, detail)
	switch {
	case me.Code == "UNAUTHENTICATED":
		e.Code = providers.CodeAuthFailed
	case me.Code == "PERMISSION_DENIED":
		e.Code = providers.CodePermissionDenied
	case me.Code == "RESOURCE_DOES_NOT_EXIST" || me.Code == "ENDPOINT_NOT_FOUND" ||
		a.StatusCode == http.StatusNotFound || a.StatusCode == http.StatusMethodNotAllowed:
		e.Code = providers.CodeNotFound
		e.Message = fmt.Sprintf("%s: %s answered HTTP %d; is this an MLflow tracking server? Check tracking_uri", name, searchPath, a.StatusCode)
		if detail != "" && me.Code != "" {
			e.Message += " (" + detail + ")"
		}
	case me.Code == "REQUEST_LIMIT_EXCEEDED":
		e.Code = providers.CodeRateLimited
		e.Retryable = true
	}
	return e
}
