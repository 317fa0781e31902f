package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed assets are exactly what the pins produce, so go generate
// (which runs this program) stays offline and leaves no diff.
func TestCommittedAssetsMatchPins(t *testing.T) {
	dir := filepath.Join("..", "..", "assets")
	m, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if problems := verify(dir, m); len(problems) > 0 {
		t.Fatalf("run go generate ./graphiql/...:\n%s", strings.Join(problems, "\n"))
	}
}

func TestVerifyNoticesChanges(t *testing.T) {
	src := filepath.Join("..", "..", "assets")
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p := verify(dir, m); len(p) != 0 {
		t.Fatal(p)
	}
	os.WriteFile(filepath.Join(dir, "react.production.min.js"), []byte("tampered"), 0o644)
	os.WriteFile(filepath.Join(dir, "stray.js"), nil, 0o644)
	p := strings.Join(verify(dir, m), "\n")
	for _, want := range []string{"react.production.min.js: sha256 differs", "stray.js: not written by any pin"} {
		if !strings.Contains(p, want) {
			t.Errorf("verify did not say %q:\n%s", want, p)
		}
	}
	m.Packages[0].Version = "0.0.1"
	if p := strings.Join(verify(dir, m), "\n"); !strings.Contains(p, "the pin is") {
		t.Errorf("verify missed a version change:\n%s", p)
	}
	if p := verify(dir, nil); len(p) == 0 {
		t.Error("verify accepted a missing manifest")
	}
}

func tgz(t *testing.T, files map[string]string, link string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	if link != "" {
		tw.WriteHeader(&tar.Header{Name: link, Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func TestUntar(t *testing.T) {
	got, err := untar(tgz(t, map[string]string{"package/a.js": "a", "package/b.js": "b"}, ""), map[string]string{"package/a.js": "a.js"})
	if err != nil || string(got["package/a.js"]) != "a" || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := untar(tgz(t, map[string]string{"package/a.js": "a"}, ""), map[string]string{"package/c.js": ""}); err == nil || !strings.Contains(err.Error(), "not in the tarball: package/c.js") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := untar(tgz(t, nil, "package/a.js"), map[string]string{"package/a.js": ""}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlink: %v", err)
	}
}
