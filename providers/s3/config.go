package s3

import (
	"context"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/junctionhq/junction/providers"
)

// clientOptions builds the SDK options from the settings alone: static
// credentials, no shared config files or AWS_* environment, the guarded HTTP
// client, and checksums only where an operation requires them (S3-compatible
// stores reject the SDK's default CRC32 headers). The SDK's own retryer is
// off: the guarded client already retries 429 and 5xx within the deadline.
func clientOptions(cfg providers.Config) (s3.Options, error) {
	bucket := cfg.String("bucket")
	if strings.TrimSpace(bucket) == "" || strings.ContainsAny(bucket, "/\\?# \t\r\n") {
		return s3.Options{}, providers.Errorf(providers.CodeInvalidConfig, "s3: bucket %q is not a bucket name", bucket)
	}
	region := strings.TrimSpace(cfg.String("region"))
	if region == "" {
		region = "us-east-1"
	}
	o := s3.Options{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			cfg.Secret("access_key_id"), cfg.Secret("secret_access_key"), cfg.Secret("session_token"))),
		HTTPClient:                 cfg.Client(),
		UsePathStyle:               cfg.Bool("use_path_style"),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Retryer:                    aws.NopRetryer{},
	}
	if ep := strings.TrimSpace(cfg.String("endpoint")); ep != "" {
		u, err := url.Parse(ep)
		switch {
		case err != nil:
			return s3.Options{}, providers.Errorf(providers.CodeInvalidConfig, "s3: endpoint is not a URL")
		case u.Scheme != "https" && u.Scheme != "http":
			return s3.Options{}, providers.Errorf(providers.CodeInvalidConfig, "s3: endpoint must start with https:// (or http://)")
		case u.Host == "":
			return s3.Options{}, providers.Errorf(providers.CodeInvalidConfig, "s3: endpoint has no host")
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			return s3.Options{}, providers.Errorf(providers.CodeInvalidConfig, "s3: endpoint must not carry credentials, a query or a fragment")
		}
		o.BaseEndpoint = aws.String(strings.TrimRight(ep, "/"))
	}
	return o, nil
}

// resolveEndpoint returns the URL the SDK will send bucket requests to. It
// does no I/O; it rejects combinations the SDK cannot address (for example a
// bucket name that cannot be a host name without path-style addressing).
func resolveEndpoint(ctx context.Context, o s3.Options, bucket string) (string, error) {
	p := s3.EndpointParameters{
		Bucket:         aws.String(bucket),
		Region:         aws.String(o.Region),
		Endpoint:       o.BaseEndpoint,
		ForcePathStyle: aws.Bool(o.UsePathStyle),
	}.WithDefaults()
	ep, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
	if err != nil {
		return "", providers.Wrap(providers.CodeInvalidConfig, err, "s3: cannot address bucket %q in region %q with these settings: %s", bucket, o.Region, err.Error())
	}
	return ep.URI.String(), nil
}
