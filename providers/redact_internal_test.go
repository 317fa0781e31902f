package providers

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// TestRedactWindows: a long text decoded window by window is redacted
// exactly as when decoded whole, wherever the echoes fall against the
// windows' edges (windows made small here, so every offset is tried).
func TestRedactWindows(t *testing.T) {
	const secret = "CANARY/SLSH/ü5678"
	forms := []string{secret, `CANARY\/SLSH\/\u00fc5678`, url.QueryEscape(secret), "canary/slsh/Ü5678",
		`CANARY&#x2F;SLSH/&uuml;5678`, `CANARY\\\/SLSH`, `%26lt%3B`}
	// What may stand beside an echo in a well-formed text: a lone % or
	// backslash would start an escape with the echo's first characters,
	// however the text is cut.
	fillers := []string{"a", `\\`, `\"`, `\u00fc`, "&", "&amp;", "&#x26;", "%25", "%C3%BC", "+", "ü", " ", `"`}
	rng := rand.New(rand.NewPCG(1, 2))
	whole := newMatcher(redactForms(map[string]string{"api_key": secret}))
	whole.window = 1 << 30
	for range 40 {
		var b strings.Builder
		for b.Len() < 2000 {
			if rng.IntN(4) == 0 {
				b.WriteString(forms[rng.IntN(len(forms))])
			} else {
				b.WriteString(fillers[rng.IntN(len(fillers))])
			}
		}
		text := b.String()
		want := whole.redact(text)
		for _, w := range []int{300, 301, 317, 512} {
			m := newMatcher(redactForms(map[string]string{"api_key": secret}))
			m.window = w
			if got := m.redact(text); got != want {
				t.Fatalf("window %d:\n got %q\nwant %q", w, got, want)
			}
		}
	}
}
