package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// JSONMap is a JSON object stored as text.
type JSONMap map[string]any

// Value encodes the map as JSON text; nil is "{}".
func (m JSONMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]any(m))
	return string(b), err
}

// Scan decodes JSON text or bytes. The map is the caller's own: a text
// seen recently is copied from its decoded form (decoded), not parsed again.
func (m *JSONMap) Scan(src any) error {
	b, err := textBytes(src)
	if err != nil || len(b) == 0 {
		*m = JSONMap{}
		return err
	}
	out, err := decoded.object(b)
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// decoded remembers the decoded form of the JSON objects read recently.
// A page of connections reads the same few config and details texts again
// and again, and copying a decoded map costs a seventh of parsing the text.
// The cache holds at most decodedMax texts of at most decodedMaxLen bytes,
// and is emptied when full (no eviction order to keep).
var decoded = &objectCache{m: make(map[string]map[string]any)}

const (
	decodedMax    = 4096
	decodedMaxLen = 2048
)

type objectCache struct {
	mu sync.RWMutex
	m  map[string]map[string]any
}

// object returns a fresh map decoded from b.
func (c *objectCache) object(b []byte) (map[string]any, error) {
	if len(b) <= decodedMaxLen {
		c.mu.RLock()
		tmpl, ok := c.m[string(b)]
		c.mu.RUnlock()
		if ok {
			return copyObject(tmpl), nil
		}
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("store: decode json object: %w", err)
	}
	if len(b) <= decodedMaxLen {
		tmpl := copyObject(out)
		c.mu.Lock()
		if len(c.m) >= decodedMax {
			clear(c.m)
		}
		c.m[string(b)] = tmpl
		c.mu.Unlock()
	}
	return out, nil
}

// decodedLists is decoded for JSONList: the secret field names of a
// connection, the same few lists on every row of a page.
var decodedLists = &listCache{m: make(map[string][]string)}

type listCache struct {
	mu sync.RWMutex
	m  map[string][]string
}

// list returns a fresh list decoded from b.
func (c *listCache) list(b []byte) ([]string, error) {
	if len(b) <= decodedMaxLen {
		c.mu.RLock()
		tmpl, ok := c.m[string(b)]
		c.mu.RUnlock()
		if ok {
			return slices.Clone(tmpl), nil
		}
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("store: decode json list: %w", err)
	}
	if len(b) <= decodedMaxLen {
		c.mu.Lock()
		if len(c.m) >= decodedMax {
			clear(c.m)
		}
		c.m[string(b)] = slices.Clone(out)
		c.mu.Unlock()
	}
	return out, nil
}

// copyObject copies a decoded JSON object deeply: maps and slices are new,
// strings, numbers and booleans are immutable and shared.
func copyObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyObject(v)
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = copyValue(x)
		}
		return s
	}
	return v
}

// JSONList is a JSON array of strings stored as text.
type JSONList []string

// Value encodes the list as JSON text; nil is "[]".
func (l JSONList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan decodes JSON text or bytes.
func (l *JSONList) Scan(src any) error {
	b, err := textBytes(src)
	if err != nil || len(b) == 0 {
		*l = nil
		return err
	}
	out, err := decodedLists.list(b)
	if err != nil {
		return err
	}
	*l = out
	return nil
}

func textBytes(src any) ([]byte, error) {
	switch v := src.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return nil, fmt.Errorf("store: cannot scan %T as json", src)
}
