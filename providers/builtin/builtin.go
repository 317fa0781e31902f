// Package builtin lists the drivers Junction ships with. Registration is
// explicit: a driver not listed here does not exist.
package builtin

import (
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/amazonsp"
	"github.com/junctionhq/junction/providers/bullhorn"
	"github.com/junctionhq/junction/providers/dropbox"
	"github.com/junctionhq/junction/providers/flexiroam"
	"github.com/junctionhq/junction/providers/gmail"
	"github.com/junctionhq/junction/providers/googledrive"
	"github.com/junctionhq/junction/providers/gorgias"
	"github.com/junctionhq/junction/providers/httpapi"
	"github.com/junctionhq/junction/providers/klaviyo"
	"github.com/junctionhq/junction/providers/mlflow"
	"github.com/junctionhq/junction/providers/netsuite"
	"github.com/junctionhq/junction/providers/postgres"
	"github.com/junctionhq/junction/providers/redo"
	"github.com/junctionhq/junction/providers/rydership"
	"github.com/junctionhq/junction/providers/s3"
	"github.com/junctionhq/junction/providers/salesforce"
	"github.com/junctionhq/junction/providers/sftp"
	"github.com/junctionhq/junction/providers/sharepoint"
	"github.com/junctionhq/junction/providers/shopify"
	"github.com/junctionhq/junction/providers/sqlserver"
	"github.com/junctionhq/junction/providers/starlink"
)

// Registry returns a registry of every built-in driver, in the order the API
// contract lists the providers.
func Registry() *providers.Registry {
	return providers.NewRegistry(
		shopify.Driver{},
		httpapi.Driver{},
		flexiroam.Driver{},
		starlink.Driver{},
		s3.Driver{},
		googledrive.Driver{},
		sharepoint.Driver{},
		klaviyo.Driver{},
		amazonsp.Driver{},
		salesforce.Driver{},
		netsuite.Driver{},
		sqlserver.Driver{},
		postgres.Driver{},
		mlflow.Driver{},
		sftp.Driver{},
		gmail.Driver{},
		dropbox.Driver{},
		rydership.Driver{},
		gorgias.Driver{},
		redo.Driver{},
		bullhorn.Driver{},
	)
}
