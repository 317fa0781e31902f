package providers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Code classifies a provider failure. Codes become verificationErrorCode, GraphQL
// error extensions and REST statuses, each in exactly one place.
type Code string

// The codes a provider failure can carry.
const (
	CodeAuthFailed       Code = "auth_failed"
	CodePermissionDenied Code = "permission_denied"
	CodeNotFound         Code = "not_found"
	CodeUnreachable      Code = "unreachable"
	CodeTimeout          Code = "timeout"
	CodeRateLimited      Code = "rate_limited"
	CodeInvalidConfig    Code = "invalid_config"
	CodeTLSError         Code = "tls_error"
	CodeBlockedAddress   Code = "blocked_address"
	CodeUnsupported      Code = "unsupported"
	CodeProviderError    Code = "provider_error"
	// CodeRefused is a statement or request refused before it reached the
	// upstream (not one read-only statement, a denied function); it is the
	// client's input that is wrong (422).
	CodeRefused Code = "refused"
	// CodeQueryFailed is an error the upstream raised while running a
	// statement (syntax, unknown column, permission); Message carries the
	// upstream's own message, redacted.
	CodeQueryFailed Code = "query_failed"
	// CodeConflict is a request the upstream cannot answer unambiguously
	// (two Drive folders of one name on a path); Message names the way out.
	CodeConflict Code = "conflict"
)

// Error is a classified provider failure. Message is a human sentence that never
// contains a secret; Err, when set, is the underlying cause (which may, and is
// therefore never shown to a client).
type Error struct {
	Code       Code
	Message    string
	Retryable  bool
	RetryAfter time.Duration
	Err        error
	// Field, for CodeInvalidConfig, names the config or secret field at
	// fault, then any key inside it (["extra_headers", "Authorization"]),
	// so the API can answer 422 at that field; nil when no one field is.
	Field []string
}

// Error returns the human message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns a CodeInvalidConfig *Error about one field of the
// spec (Field is [field]): what Open returns for a setting it refuses, so
// the API reports it at that field when the connection is created, updated
// or tried, not later as a failed verification.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidConfig, Message: fmt.Sprintf(format, args...), Field: []string{field}}
}

// Wrap returns an *Error with the given code and message whose cause is err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// maxDetail is the most bytes of an upstream reason put in a message.
const maxDetail = 300

// WithDetail appends detail, a short upstream reason, to msg as ": detail",
// on one line (runs of white space become one space) and cut to at most 300
// bytes, without splitting a character, with "…" marking the cut. A blank
// detail returns msg unchanged. detail may echo a secret: redact it first.
func WithDetail(msg, detail string) string {
	return appendDetail(msg, strings.Join(strings.Fields(detail), " "))
}

// CutDetail trims detail, a short upstream reason quoted inside a sentence,
// and cuts it to at most 300 bytes without splitting a character, with "…"
// marking the cut (use WithDetail when the reason ends the sentence). detail
// may echo a secret: redact it first, so no part of one is left at the cut.
func CutDetail(detail string) string {
	if detail = strings.TrimSpace(detail); len(detail) > maxDetail {
		detail = truncateUTF8(detail, maxDetail) + "…"
	}
	return detail
}

// appendDetail appends ": detail" to msg, detail cut by CutDetail; inner
// line breaks are kept (StatusError has always kept them).
func appendDetail(msg, detail string) string {
	if detail = CutDetail(detail); detail == "" {
		return msg
	}
	return msg + ": " + detail
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ErrBlockedAddress is wrapped by every dial that netguard refuses.
var ErrBlockedAddress = errors.New("address blocked by network policy")

// BlockedAddressError is the cause of a dial netguard refused: the resolved IP
// address and why it is refused. It matches ErrBlockedAddress with errors.Is.
type BlockedAddressError struct {
	IP     netip.Addr
	Reason string
}

// Error names the address and the reason.
func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("connecting to %s is not allowed: %s", e.IP, e.Reason)
}

// Unwrap returns ErrBlockedAddress.
func (e *BlockedAddressError) Unwrap() error { return ErrBlockedAddress }

// Classify turns any error into an *Error. An *Error anywhere in the chain is
// returned as is; otherwise the cause is inspected for deadlines, refused
// addresses, TLS and network failures. Anything unknown becomes
// CodeProviderError with a generic message naming the provider (the raw text
// of unknown errors may echo secrets, so it is not used as the message).
func Classify(provider string, err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var blocked *BlockedAddressError
	switch {
	case errors.As(err, &blocked):
		return Wrap(CodeBlockedAddress, err, "%s: connecting to %s is refused by this server's network policy (%s)", provider, blocked.IP, blocked.Reason)
	case errors.Is(err, ErrBlockedAddress):
		return Wrap(CodeBlockedAddress, err, "%s: the address is blocked by this server's network policy", provider)
	case errors.Is(err, ErrBodyTooLarge):
		return Wrap(CodeProviderError, err, "%s: the response was larger than this server accepts", provider)
	case errors.Is(err, ErrTooManyRedirects):
		return Wrap(CodeProviderError, err, "%s: the server redirected too many times", provider)
	case errors.Is(err, ErrRedirectWithBody):
		return Wrap(CodeProviderError, err, "%s: the server redirected a request with a body to another host; it was not followed", provider)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return Wrap(CodeTimeout, err, "%s: the server did not answer in time", provider)
	case errors.Is(err, context.Canceled):
		return Wrap(CodeTimeout, err, "%s: the request was cancelled", provider)
	case isTLS(err):
		return Wrap(CodeTLSError, err, "%s: the TLS handshake failed: %s", provider, tlsReason(err))
	case isNet(err):
		return Wrap(CodeUnreachable, err, "%s: could not reach the server: %s", provider, netReason(err))
	}
	return Wrap(CodeProviderError, err, "%s: the request failed", provider)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLS(err error) bool {
	var (
		rec   tls.RecordHeaderError
		cert  *tls.CertificateVerificationError
		unk   x509.UnknownAuthorityError
		host  x509.HostnameError
		inv   x509.CertificateInvalidError
		alert tls.AlertError
	)
	return errors.As(err, &rec) || errors.As(err, &cert) || errors.As(err, &unk) ||
		errors.As(err, &host) || errors.As(err, &inv) || errors.As(err, &alert)
}

func tlsReason(err error) string {
	var (
		unk  x509.UnknownAuthorityError
		host x509.HostnameError
		inv  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unk):
		return "the certificate is signed by an unknown authority"
	case errors.As(err, &host):
		return "the certificate is not valid for this host name"
	case errors.As(err, &inv):
		return "the certificate is invalid or expired"
	}
	return "the server did not speak TLS as expected"
}

func isNet(err error) bool {
	var (
		op  *net.OpError
		dns *net.DNSError
	)
	return errors.As(err, &op) || errors.As(err, &dns)
}

func netReason(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return fmt.Sprintf("the host name %q does not exist", dns.Name)
		}
		return fmt.Sprintf("the host name %q could not be resolved", dns.Name)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return "the connection was refused or the host is down"
	}
	return "the connection failed"
}
