package providers

import (
	"io"
	"net/http"
)

// Do sends req with the guarded client (Client) and returns the response with
// its whole body read (the client caps it; past the cap the read fails with
// ErrBodyTooLarge) and closed. A transport or read failure comes back as
// Classify(provider, err), whose message never quotes the request URL (which
// may carry a key). A non-2xx status is not an error: the caller classifies
// it, usually with StatusError.
func (c Config) Do(req *http.Request, provider string) (*http.Response, []byte, error) {
	return c.DoLimit(req, provider, 0)
}

// DoLimit is Do reading at most limit bytes of the body; the rest is dropped
// unread. A limit of zero or less reads the whole body, as Do does.
func (c Config) DoLimit(req *http.Request, provider string, limit int64) (*http.Response, []byte, error) {
	resp, err := c.Client().Do(req)
	if err != nil {
		return nil, nil, Classify(provider, err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if limit > 0 {
		r = io.LimitReader(r, limit)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, Classify(provider, err)
	}
	return resp, body, nil
}
