// Package s3 is the s3 driver: Amazon S3 and S3-compatible object stores.
package s3

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/junctionhq/junction/providers"
)

// Driver is the s3 provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "s3".
func (Driver) Name() string { return "s3" }

// Spec returns the s3 fields.
func (Driver) Spec() providers.Spec { return spec }

// Open validates cfg and builds the S3 client. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	o, err := clientOptions(cfg)
	if err != nil {
		return nil, err
	}
	endpoint, err := resolveEndpoint(ctx, o, cfg.String("bucket"))
	if err != nil {
		return nil, err
	}
	return &conn{cfg: cfg, client: s3.New(o), bucket: cfg.String("bucket"), root: rootPrefix(cfg.String("prefix")),
		region: o.Region, endpoint: endpoint}, nil
}

// conn is one opened s3 connection.
type conn struct {
	cfg    providers.Config
	client *s3.Client
	bucket string
	// root is the key prefix every path lives under: "" or "a/b/".
	root   string
	region string
	// endpoint is the bucket's URL as the SDK resolves it, for details and messages.
	endpoint string
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "s3", Label: "Amazon S3", Category: "files",
	AuthKinds:    []string{"access_key"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "bucket", Label: "Bucket", Type: providers.TypeString, Required: true},
		{Name: "region", Label: "Region", Type: providers.TypeString, Default: "us-east-1"},
		{Name: "endpoint", Label: "Endpoint", Type: providers.TypeString, Target: true, Help: "for S3-compatible stores"},
		{Name: "prefix", Label: "Prefix", Type: providers.TypeString},
		{Name: "use_path_style", Label: "Path-style addressing", Type: providers.TypeBool, Default: false},
		{Name: "access_key_id", Label: "Access key ID", Secret: true, Required: true},
		{Name: "secret_access_key", Label: "Secret access key", Secret: true, Required: true},
		{Name: "session_token", Label: "Session token", Secret: true},
	},
}
