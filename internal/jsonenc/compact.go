package jsonenc

// maxDepth is encoding/json's nesting limit; deeper texts are left to it.
const maxDepth = 10000

// AppendCompact appends the JSON text src without insignificant
// whitespace, as json.Compact does, and with escapeHTML also escapes <, >,
// & and U+2028/U+2029 inside strings, as json.Marshal does to a
// json.RawMessage. It reports false, having appended nothing, when src is
// not one well-formed JSON value (or nests deeper than encoding/json
// allows): the caller then asks encoding/json, which says what is wrong.
func AppendCompact(dst, src []byte, escapeHTML bool) ([]byte, bool) {
	c := compactor{src: src, dst: dst, html: escapeHTML}
	if !c.value(0) {
		return dst, false
	}
	c.space()
	if c.i != len(src) {
		return dst, false
	}
	return c.dst, true
}

type compactor struct {
	src  []byte
	i    int
	dst  []byte
	html bool
}

func (c *compactor) space() {
	for c.i < len(c.src) {
		switch c.src[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *compactor) peek() byte {
	if c.i < len(c.src) {
		return c.src[c.i]
	}
	return 0
}

func (c *compactor) value(depth int) bool {
	c.space()
	switch c.peek() {
	case '{':
		if depth >= maxDepth {
			return false
		}
		c.i++
		c.dst = append(c.dst, '{')
		c.space()
		if c.peek() == '}' {
			c.i++
			c.dst = append(c.dst, '}')
			return true
		}
		for {
			c.space()
			if c.peek() != '"' || !c.string() {
				return false
			}
			c.space()
			if c.peek() != ':' {
				return false
			}
			c.i++
			c.dst = append(c.dst, ':')
			if !c.value(depth + 1) {
				return false
			}
			c.space()
			switch c.peek() {
			case ',':
				c.i++
				c.dst = append(c.dst, ',')
			case '}':
				c.i++
				c.dst = append(c.dst, '}')
				return true
			default:
				return false
			}
		}
	case '[':
		if depth >= maxDepth {
			return false
		}
		c.i++
		c.dst = append(c.dst, '[')
		c.space()
		if c.peek() == ']' {
			c.i++
			c.dst = append(c.dst, ']')
			return true
		}
		for {
			if !c.value(depth + 1) {
				return false
			}
			c.space()
			switch c.peek() {
			case ',':
				c.i++
				c.dst = append(c.dst, ',')
			case ']':
				c.i++
				c.dst = append(c.dst, ']')
				return true
			default:
				return false
			}
		}
	case '"':
		return c.string()
	case 't':
		return c.literal("true")
	case 'f':
		return c.literal("false")
	case 'n':
		return c.literal("null")
	default:
		return c.number()
	}
}

func (c *compactor) literal(word string) bool {
	if len(c.src)-c.i < len(word) || string(c.src[c.i:c.i+len(word)]) != word {
		return false
	}
	c.i += len(word)
	c.dst = append(c.dst, word...)
	return true
}

func digit(b byte) bool { return b >= '0' && b <= '9' }

func (c *compactor) number() bool {
	start := c.i
	if c.peek() == '-' {
		c.i++
	}
	switch {
	case c.peek() == '0':
		c.i++
	case c.peek() >= '1' && c.peek() <= '9':
		for c.i < len(c.src) && digit(c.src[c.i]) {
			c.i++
		}
	default:
		return false
	}
	if c.peek() == '.' {
		c.i++
		if !digit(c.peek()) {
			return false
		}
		for c.i < len(c.src) && digit(c.src[c.i]) {
			c.i++
		}
	}
	if b := c.peek(); b == 'e' || b == 'E' {
		c.i++
		if b := c.peek(); b == '+' || b == '-' {
			c.i++
		}
		if !digit(c.peek()) {
			return false
		}
		for c.i < len(c.src) && digit(c.src[c.i]) {
			c.i++
		}
	}
	c.dst = append(c.dst, c.src[start:c.i]...)
	return true
}

// string copies a string, its escapes as they are; encoding/json accepts
// any byte from 0x20 up inside a string, valid UTF-8 or not.
func (c *compactor) string() bool {
	c.i++ // the opening quote
	c.dst = append(c.dst, '"')
	start := c.i
	safe := &plainText
	if c.html {
		safe = &plainHTMLText
	}
	for c.i < len(c.src) {
		// Most bytes of a string need nothing: skip them in a tight loop.
		for c.i < len(c.src) && safe[c.src[c.i]] {
			c.i++
		}
		if c.i == len(c.src) {
			break
		}
		b := c.src[c.i]
		switch {
		case b == '"':
			c.dst = append(c.dst, c.src[start:c.i]...)
			c.dst = append(c.dst, '"')
			c.i++
			return true
		case b < 0x20:
			return false
		case b == '\\':
			if c.i+1 >= len(c.src) {
				return false
			}
			switch c.src[c.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i += 2
			case 'u':
				if c.i+6 > len(c.src) {
					return false
				}
				for _, h := range c.src[c.i+2 : c.i+6] {
					if !(digit(h) || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				c.i += 6
			default:
				return false
			}
		case c.html && (b == '<' || b == '>' || b == '&'):
			c.dst = append(c.dst, c.src[start:c.i]...)
			c.dst = append(c.dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			c.i++
			start = c.i
		case c.html && b == 0xE2 && c.i+2 < len(c.src) && c.src[c.i+1] == 0x80 && c.src[c.i+2]&^1 == 0xA8:
			c.dst = append(c.dst, c.src[start:c.i]...)
			c.dst = append(c.dst, '\\', 'u', '2', '0', '2', hex[c.src[c.i+2]&0xF])
			c.i += 3
			start = c.i
		default:
			c.i++
		}
	}
	return false
}

// plainText marks the bytes a string copies as they are: not the quote,
// the backslash or a control byte; plainHTMLText also not <, > and & nor
// 0xE2, the first byte of U+2028 and U+2029.
var plainText, plainHTMLText = func() (plain, html [256]bool) {
	for b := 0x20; b < 256; b++ {
		plain[b] = b != '"' && b != '\\'
		html[b] = plain[b] && b != '<' && b != '>' && b != '&' && b != 0xE2
	}
	return plain, html
}()
