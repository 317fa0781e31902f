package s3

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/junctionhq/junction/providers"
)

// benchServer is gofakes3 without the signature checks of fakeS3, so the
// server's share of each run is as small as it can be and the baseline and
// the driver differ only in what the driver adds. It returns the store for
// seeding and a conn on bucket "reports".
func benchServer(b *testing.B) (*s3mem.Backend, *conn) {
	b.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("reports"); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(backend).Server())
	b.Cleanup(ts.Close)
	return backend, openFiles(b, ts.URL, "")
}

// BenchmarkListPage lists one page of 1,000 files: the ListObjectsV2 call
// made directly with the SDK, and the same call through ListFiles (items,
// mime types, the merge of files and folders).
func BenchmarkListPage(b *testing.B) {
	backend, c := benchServer(b)
	objs := make([]object, 1000)
	for i := range objs {
		objs[i] = object{key: fmt.Sprintf("page/file-%04d.json", i), size: i}
	}
	seed(b, backend, "reports", objs...)
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := c.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
				Bucket: aws.String("reports"), Prefix: aws.String("page/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1000),
			})
			if err != nil || len(out.Contents) != 1000 {
				b.Fatalf("%v, %d objects", err, len(out.Contents))
			}
		}
	})
	b.Run("driver", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			page, err := c.ListFiles(ctx, providers.ListFilesRequest{Folder: providers.FileRef{Path: "/page"}, PageSize: 1000})
			if err != nil || len(page.Items) != 1000 {
				b.Fatalf("%v, %d items", err, len(page.Items))
			}
		}
	})
}

// BenchmarkWalk100k walks a tree of 100,000 files (10 x 10 folders of 1,000):
// a ListObjectsV2 paginator over the SDK, and WalkFiles.
func BenchmarkWalk100k(b *testing.B) {
	backend, c := benchServer(b)
	const files = 100_000
	objs := make([]object, 0, files)
	for d := range 10 {
		for e := range 10 {
			for f := range 1000 {
				objs = append(objs, object{key: fmt.Sprintf("walk/d%02d/e%02d/f%03d.json", d, e, f), size: 1})
			}
		}
	}
	seed(b, backend, "reports", objs...)
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var n, bytes int64
			pg := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{
				Bucket: aws.String("reports"), Prefix: aws.String("walk/"), MaxKeys: aws.Int32(1000),
			})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range out.Contents {
					n++
					bytes += aws.ToInt64(o.Size)
				}
			}
			if n != files || bytes != files {
				b.Fatalf("%d files, %d bytes", n, bytes)
			}
		}
	})
	b.Run("driver", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var n, bytes int64
			err := c.WalkFiles(ctx, providers.WalkFilesRequest{Folder: providers.FileRef{Path: "/walk"}}, func(it providers.FileItem, depth int) error {
				n++
				bytes += *it.Size
				return nil
			})
			if err != nil || n != files || bytes != files {
				b.Fatalf("%v: %d files, %d bytes", err, n, bytes)
			}
		}
	})
}
