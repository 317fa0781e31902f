package s3

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify calls HeadBucket. S3 answers a refused HEAD with a bare 403 that
// cannot tell bad credentials from missing permission, and a policy may allow
// listing only under a prefix, so a 403 is followed by ListObjectsV2
// (MaxKeys=1, under the normalised prefix the files live under): its error
// body names the reason, and its success proves access to the part of the
// bucket in use.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	details := map[string]any{"bucket": c.bucket, "endpoint": c.endpoint}
	out, err := c.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)})
	if err == nil {
		details["region"] = c.region
		if r := aws.ToString(out.BucketRegion); r != "" {
			details["region"] = r
		}
		details["checked_with"] = "HeadBucket"
		return &providers.VerifyResult{Details: details}, nil
	}
	if e := c.classify(err); e.Code != providers.CodePermissionDenied {
		return nil, e
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), MaxKeys: aws.Int32(1)}
	if c.root != "" {
		in.Prefix = aws.String(c.root)
		details["prefix"] = c.root
	}
	if _, err := c.client.ListObjectsV2(ctx, in); err != nil {
		return nil, c.classify(err)
	}
	details["region"] = c.region
	details["checked_with"] = "ListObjectsV2"
	return &providers.VerifyResult{Details: details}, nil
}

// classify maps an SDK error to a code by the S3 error code, falling back on
// the HTTP status (HEAD responses have no body, so only the status is known).
func (c *conn) classify(err error) *providers.Error {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil || re.HTTPStatusCode() == 0 {
		// Never reached the point of an HTTP answer: transport, deadline, blocked address.
		e := *providers.Classify("s3", err)
		if e.Code == providers.CodeProviderError {
			e.Message = providers.WithDetail("s3: the request failed", c.cfg.Redact(err.Error()))
		} else {
			e.Message += " (" + c.endpoint + ")"
		}
		return &e
	}
	status := re.HTTPStatusCode()
	region := re.Response.Header.Get("X-Amz-Bucket-Region")
	code, msg := "", ""
	var api smithy.APIError
	if errors.As(err, &api) {
		code, msg = api.ErrorCode(), providers.CutDetail(c.cfg.Redact(api.ErrorMessage()))
	}
	detail := code
	if msg != "" && msg != code && msg != http.StatusText(status) {
		detail += ": " + msg
	}
	mk := func(kind providers.Code, format string, args ...any) *providers.Error {
		return providers.Wrap(kind, err, format, args...)
	}
	switch {
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" ||
		code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidSecurity":
		return mk(providers.CodeAuthFailed, "s3: the credentials were rejected (%s); check access_key_id, secret_access_key and session_token", detail)
	case code == "RequestTimeTooSkewed":
		return mk(providers.CodeProviderError, "s3: the service refused the request because this server's clock differs too much from its own (%s)", detail)
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == http.StatusMovedPermanently ||
		(region != "" && region != c.region && status == http.StatusBadRequest):
		if region != "" {
			return mk(providers.CodeInvalidConfig, "s3: bucket %q is in region %s, not %s; set region to %s", c.bucket, region, c.region, region)
		}
		return mk(providers.CodeInvalidConfig, "s3: bucket %q is not in region %s (%s); set region to the bucket's region", c.bucket, c.region, detail)
	case code == "NoSuchBucket" || status == http.StatusNotFound:
		return mk(providers.CodeNotFound, "s3: bucket %q does not exist at %s; check the bucket name and endpoint", c.bucket, c.endpoint)
	case code == "AccessDenied" || code == "AllAccessDisabled" || status == http.StatusForbidden:
		return mk(providers.CodePermissionDenied, "s3: access to bucket %q was denied (%s); the credentials need s3:ListBucket on the bucket (or on the prefix)", c.bucket, detail)
	case code == "SlowDown" || status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		e := mk(providers.CodeRateLimited, "s3: the service is slowing requests down (%s); try again later", detail)
		e.Retryable = true
		e.RetryAfter = providers.RetryAfter(re.Response.Header, time.Now())
		return e
	case status >= 500:
		e := mk(providers.CodeProviderError, "s3: the service had an internal error (HTTP %d, %s)", status, detail)
		e.Retryable = true
		return e
	}
	return mk(providers.CodeProviderError, "s3: the request failed (HTTP %d, %s)", status, strings.TrimSpace(detail))
}
