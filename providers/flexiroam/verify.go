package flexiroam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify logs in (POST /user/login/v1 with the email and password as
// multipart form fields) and reads the profile with the session token
// (POST /user/view/v1, header "token"). The public documentation of both
// calls is partial: failure shapes are inferred (see the spec's DocsNote).
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	login, err := c.post(ctx, "/user/login/v1", "", map[string]string{
		"email":    strings.TrimSpace(c.cfg.String("email")),
		"password": c.cfg.Secret("password"),
	})
	if err != nil {
		return nil, err
	}
	if login.status == http.StatusUnauthorized || login.status == http.StatusForbidden || (login.ok() && login.failed()) {
		return nil, c.fail(providers.CodeAuthFailed, login, "",
			fmt.Sprintf("flexiroam: the login was refused (HTTP %d); check the email and password", login.status))
	}
	if !login.ok() {
		return nil, c.httpError(login, "", "login")
	}
	var data struct {
		Token string `json:"token"`
	}
	if !login.json || json.Unmarshal(login.env.Data, &data) != nil || data.Token == "" {
		return nil, c.fail(providers.CodeProviderError, login, "",
			"flexiroam: the login answer carried no session token; check base_url points at the Flexiroam reseller API")
	}

	view, err := c.post(ctx, "/user/view/v1", data.Token, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case view.status == http.StatusUnauthorized:
		return nil, c.fail(providers.CodeAuthFailed, view, data.Token, "flexiroam: the session token from the login was rejected (HTTP 401)")
	case view.status == http.StatusForbidden:
		return nil, c.fail(providers.CodePermissionDenied, view, data.Token, "flexiroam: the user may not read its profile (HTTP 403)")
	case !view.ok():
		return nil, c.httpError(view, data.Token, "profile")
	case !view.json:
		return nil, c.fail(providers.CodeProviderError, view, data.Token, "flexiroam: the profile answer was not JSON; check base_url")
	case view.failed():
		return nil, c.fail(providers.CodeProviderError, view, data.Token, "flexiroam: the profile call answered with a failure")
	}
	return &providers.VerifyResult{Details: profileDetails(view.env.Data)}, nil
}

// envelope is the documented response shape: {success|status, data, msg}.
type envelope struct {
	Success json.RawMessage `json:"success"`
	Status  json.RawMessage `json:"status"`
	Data    json.RawMessage `json:"data"`
	Msg     json.RawMessage `json:"msg"`
	Message json.RawMessage `json:"message"`
}

type answer struct {
	status int
	header http.Header
	body   []byte
	env    envelope
	json   bool
}

func (a *answer) ok() bool { return a.status >= 200 && a.status < 300 }

// failed reports an answer whose envelope says it failed.
func (a *answer) failed() bool {
	return a.json && (isFalse(a.env.Success) || isFalse(a.env.Status))
}

// isFalse reads the success/status flags, which third-party code shows as
// booleans but may be numbers or words.
func isFalse(raw json.RawMessage) bool {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch t := v.(type) {
	case bool:
		return !t
	case float64:
		return t == 0
	case string:
		switch strings.ToLower(t) {
		case "false", "0", "error", "fail", "failed", "failure":
			return true
		}
	}
	return false
}

// msg returns the envelope's human message, if any.
func (a *answer) msg() string {
	for _, raw := range []json.RawMessage{a.env.Msg, a.env.Message} {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
		var list []string
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			return strings.Join(list, "; ")
		}
	}
	if !a.json {
		if s := strings.TrimSpace(string(a.body)); !strings.HasPrefix(s, "<") {
			return s
		}
	}
	return ""
}

// post sends a multipart form (every Flexiroam v1 call is a form POST) and
// reads the answer, at most 1 MiB of it.
func (c *conn) post(ctx context.Context, path, token string, fields map[string]string) (*answer, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range []string{"email", "password"} {
		if v, ok := fields[k]; ok {
			if err := mw.WriteField(k, v); err != nil {
				return nil, providers.Wrap(providers.CodeProviderError, err, "flexiroam: cannot build the form")
			}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "flexiroam: cannot build the form")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "flexiroam: cannot build the request; check base_url")
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("token", token)
	}
	resp, body, err := c.cfg.DoLimit(req, "flexiroam", 1<<20)
	if err != nil {
		return nil, err
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: body}
	a.json = json.Unmarshal(body, &a.env) == nil
	return a, nil
}

// redact removes the password and the session token from s.
func (c *conn) redact(s, token string) string {
	return providers.RedactWith(s, c.cfg.Secrets, token)
}

func (c *conn) fail(code providers.Code, a *answer, token, msg string) *providers.Error {
	return &providers.Error{Code: code, Message: providers.WithDetail(msg, c.redact(a.msg(), token))}
}

// httpError classifies any other non-2xx answer of the login or profile call.
func (c *conn) httpError(a *answer, token, what string) *providers.Error {
	resp := &http.Response{StatusCode: a.status, Header: a.header}
	e := providers.StatusError("flexiroam", resp, "")
	if a.status == http.StatusNotFound {
		e.Message = fmt.Sprintf("flexiroam: the %s endpoint was not found (HTTP 404); check environment and base_url", what)
	}
	e.Message = providers.WithDetail(e.Message, c.redact(a.msg(), token))
	return e
}

// profileFields are the profile fields worth showing; anything else (the
// data may hold API keys) is left out.
var profileFields = []string{"user_id", "first_name", "last_name", "name", "business_name", "company",
	"company_name", "email", "country", "currency", "timezone"}

// profileDetails picks the known, non-secret fields of the profile data
// (an object, or a list holding one).
func profileDetails(raw json.RawMessage) map[string]any {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil {
		var list []map[string]any
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			obj = list[0]
		}
	}
	details := map[string]any{}
	for _, k := range profileFields {
		switch v := obj[k].(type) {
		case string:
			if v != "" {
				details[k] = v
			}
		case float64, bool:
			details[k] = v
		}
	}
	return details
}
