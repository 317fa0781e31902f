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
	ctx, cancel := c.profile.Config.WithTimeout(ctx)
	defer cancel()
	call, err := form("/user/view/v1") // with the empty form every v1 call carries
	if err != nil {
		return nil, err
	}
	resp, err := c.profile.Do(ctx, call)
	if err != nil {
		return nil, err
	}
	view := parse(resp.Body)
	switch {
	case !view.json:
		return nil, fail(providers.CodeProviderError, "flexiroam: the profile answer was not JSON; check base_url", view, resp.Redact)
	case view.failed():
		return nil, fail(providers.CodeProviderError, "flexiroam: the profile call answered with a failure", view, resp.Redact)
	}
	return &providers.VerifyResult{Details: profileDetails(view.env.Data)}, nil
}

// session is the profile call's AuthFunc: it logs in and sends the session
// token in the "token" header.
func (c *conn) session(ctx context.Context, r *http.Request, _ string) (string, error) {
	call, err := form("/user/login/v1", "email", c.email, "password", c.login.Config.Secret("password"))
	if err != nil {
		return "", err
	}
	resp, err := c.login.Do(ctx, call)
	if err != nil {
		return "", err
	}
	login := parse(resp.Body)
	if login.failed() {
		return "", fail(providers.CodeAuthFailed, fmt.Sprintf("flexiroam: the login was refused (HTTP %d); check the email and password", resp.StatusCode),
			login, c.login.Config.Redact)
	}
	var data struct {
		Token string `json:"token"`
	}
	if !login.json || json.Unmarshal(login.env.Data, &data) != nil || data.Token == "" {
		return "", fail(providers.CodeProviderError, "flexiroam: the login answer carried no session token; check base_url points at the Flexiroam reseller API",
			login, c.login.Config.Redact)
	}
	r.Header.Set("token", data.Token)
	return data.Token, nil
}

// form is a POST of path whose body is a multipart form of the given name,
// value pairs: every Flexiroam v1 call is one (the credentials are form
// fields).
func form(path string, pairs ...string) (providers.Call, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := mw.WriteField(pairs[i], pairs[i+1]); err != nil {
			return providers.Call{}, providers.Wrap(providers.CodeProviderError, err, "flexiroam: cannot build the form")
		}
	}
	if err := mw.Close(); err != nil {
		return providers.Call{}, providers.Wrap(providers.CodeProviderError, err, "flexiroam: cannot build the form")
	}
	return providers.Call{Method: http.MethodPost, Path: path, Body: buf.Bytes(), ContentType: mw.FormDataContentType()}, nil
}

// loginError classifies a non-2xx answer of the login call.
func loginError(a providers.Answer) *providers.Error {
	if a.StatusCode == http.StatusUnauthorized || a.StatusCode == http.StatusForbidden {
		return fail(providers.CodeAuthFailed, fmt.Sprintf("flexiroam: the login was refused (HTTP %d); check the email and password", a.StatusCode), parse(a.Body), a.Redact)
	}
	return httpError(a, "login")
}

// profileError classifies a non-2xx answer of the profile call.
func profileError(a providers.Answer) *providers.Error {
	switch a.StatusCode {
	case http.StatusUnauthorized:
		return fail(providers.CodeAuthFailed, "flexiroam: the session token from the login was rejected (HTTP 401)", parse(a.Body), a.Redact)
	case http.StatusForbidden:
		return fail(providers.CodePermissionDenied, "flexiroam: the user may not read its profile (HTTP 403)", parse(a.Body), a.Redact)
	}
	return httpError(a, "profile")
}

// envelope is the documented response shape: {success|status, data, msg}.
type envelope struct {
	Success json.RawMessage `json:"success"`
	Status  json.RawMessage `json:"status"`
	Data    json.RawMessage `json:"data"`
	Msg     json.RawMessage `json:"msg"`
	Message json.RawMessage `json:"message"`
}

// answer is a body read as the envelope.
type answer struct {
	body []byte
	env  envelope
	json bool
}

// parse reads body as the envelope, when it is JSON.
func parse(body []byte) *answer {
	a := &answer{body: body}
	a.json = json.Unmarshal(body, &a.env) == nil
	return a
}

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

// fail is an error of code with msg and the answer's (redacted) message.
func fail(code providers.Code, msg string, a *answer, redact func(string) string) *providers.Error {
	return &providers.Error{Code: code, Message: providers.WithDetail(msg, redact(a.msg()))}
}

// httpError classifies any other non-2xx answer of the login or profile call.
func httpError(a providers.Answer, what string) *providers.Error {
	e := providers.StatusError("flexiroam", a.Response, "")
	if a.StatusCode == http.StatusNotFound {
		e.Message = fmt.Sprintf("flexiroam: the %s endpoint was not found (HTTP 404); check environment and base_url", what)
	}
	e.Message = providers.WithDetail(e.Message, a.Redact(parse(a.Body).msg()))
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
