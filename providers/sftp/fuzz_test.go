package sftp

import (
	"errors"
	"testing"

	"github.com/junctionhq/junction/providers"
)

// FuzzCursor feeds decodeCursor anything a client could smuggle in: it never
// panics, refuses what is not a cursor with CodeRefused, and what it accepts
// is one folder entry name that encodes back to a cursor naming the same
// entry.
func FuzzCursor(f *testing.F) {
	for _, seed := range []string{"", "YS5qc29u", encodeCursor("e10"), "Lw", "Li4", "LiU", "!!!", "YQ==", "YQ\n", "AA", "4pyT"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		name, err := decodeCursor(cursor)
		if err != nil {
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeRefused {
				t.Fatalf("decodeCursor(%q) = %v, want a refused *providers.Error", cursor, err)
			}
			if name != "" {
				t.Fatalf("decodeCursor(%q) returned %q with an error", cursor, name)
			}
			return
		}
		if !validName(name) {
			t.Fatalf("decodeCursor(%q) accepted %q, which is not an entry name", cursor, name)
		}
		again, err := decodeCursor(encodeCursor(name))
		if err != nil || again != name {
			t.Fatalf("round trip of %q: %q, %v", name, again, err)
		}
	})
}
