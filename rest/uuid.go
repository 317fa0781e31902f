package rest

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// parseUUID parses s the way pydantic v2 (through the Rust uuid crate)
// parses a UUID path parameter: hyphenated (36 characters), simple (32 hex
// digits), braced ({...}) or with a lowercase "urn:uuid:" prefix, any case of
// hex digit. It returns the canonical lowercase hyphenated form, or the
// crate's explanation, which pydantic appends to "Input should be a valid
// UUID, ".
func parseUUID(s string) (string, string) {
	hex := s
	switch {
	case len(s) == 38 && s[0] == '{' && s[37] == '}':
		hex = s[1:37]
	case len(s) == 45 && strings.HasPrefix(s, "urn:uuid:"):
		hex = s[9:]
	}
	if ok := len(hex) == 32 && allHex(hex) || len(hex) == 36 && hyphenated(hex); ok {
		if u, err := uuid.Parse(hex); err == nil {
			return u.String(), ""
		}
	}
	return "", uuidProblem(s)
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func hyphenated(s string) bool {
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// uuidProblem explains why s is not a UUID, word for word as the Rust uuid
// crate's error (the text pydantic v2 shows): the first character that is
// neither a hex digit nor "-" (1-based byte index), else the length of a
// simple UUID, the number of groups, or the first group of the wrong length.
func uuidProblem(s string) string {
	if !utf8.ValidString(s) {
		return "non-UTF8 input"
	}
	body, offset, simple := s, 0, true
	switch {
	case len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}':
		body, offset, simple = s[1:len(s)-1], 1, false
	case strings.HasPrefix(s, "urn:uuid:"):
		body, offset, simple = s[9:], 9, false
	}
	hyphens := 0
	var bounds [4]int
	for i, r := range body {
		switch {
		case r == '-':
			if hyphens < 4 {
				bounds[hyphens] = i
			}
			hyphens++
		case r >= utf8.RuneSelf || !isHex(byte(r)):
			return fmt.Sprintf("invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `%c` at %d", r, i+offset+1)
		}
	}
	if hyphens == 0 && simple {
		return fmt.Sprintf("invalid length: expected length 32 for simple format, found %d", len(s))
	}
	if hyphens != 4 {
		return fmt.Sprintf("invalid group count: expected 5, found %d", hyphens+1)
	}
	starts := [5]int{0, 9, 14, 19, 24}
	expected := [5]int{8, 4, 4, 4, 12}
	for i := range 4 {
		if bounds[i] != starts[i+1]-1 {
			return fmt.Sprintf("invalid group length in group %d: expected %d, found %d", i, expected[i], bounds[i]-starts[i])
		}
	}
	return fmt.Sprintf("invalid group length in group 4: expected 12, found %d", len(s)-starts[4])
}
