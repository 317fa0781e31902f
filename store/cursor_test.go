package store

import (
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	at := Now()
	c := &Connection{ID: "0190a0b0-0000-7000-8000-000000000001", Name: "Orders", Status: "active", Provider: "s3",
		CreatedAt: at, UpdatedAt: at.Add(time.Second), LastVerifiedAt: &at}
	for _, sort := range SortKeys {
		for _, desc := range []bool{false, true} {
			cur, err := decodeCursor(encodeCursor(sort, desc, c))
			if err != nil || cur.Sort != sort || cur.Desc != desc || cur.ID != c.ID || cur.Value == nil {
				t.Fatalf("%s/%v: %+v %v", sort, desc, cur, err)
			}
		}
	}
	c.LastVerifiedAt = nil
	if cur, err := decodeCursor(encodeCursor("last_verified_at", false, c)); err != nil || cur.Value != nil {
		t.Fatalf("null value: %+v %v", cur, err)
	}
}

// FuzzDecodeCursor: any client-supplied cursor is either rejected or decodes
// to a cursor naming a row; it never panics.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor("name", false, &Connection{ID: "x", Name: "n"}))
	f.Add("")
	f.Add("eyJzIjoibmFtZSJ9")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err == nil && c.ID == "" {
			t.Fatalf("accepted a cursor without an id: %q", s)
		}
	})
}
