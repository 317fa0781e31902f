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
	out, err := decoded.get(b)
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// decoded remembers the decoded form of the JSON objects read recently,
// and decodedLists of the string lists (a connection's secret field names).
// A page of connections reads the same few config and details texts again
// and again, and copying a decoded map costs a seventh of parsing the text.
// Each cache holds at most decodedMax texts of at most decodedMaxLen bytes,
// and is emptied when full (no eviction order to keep).
var (
	decoded = &decodeCache[map[string]any]{m: map[string]map[string]any{}, copy: copyObject,
		decode: func(b []byte) (map[string]any, error) {
			out := map[string]any{}
			if err := json.Unmarshal(b, &out); err != nil {
				return nil, fmt.Errorf("store: decode json object: %w", err)
			}
			return out, nil
		}}
	decodedLists = &decodeCache[[]string]{m: map[string][]string{}, copy: slices.Clone[[]string],
		decode: func(b []byte) ([]string, error) {
			var out []string
			if err := json.Unmarshal(b, &out); err != nil {
				return nil, fmt.Errorf("store: decode json list: %w", err)
			}
			return out, nil
		}}
)

const (
	decodedMax    = 4096
	decodedMaxLen = 2048
)

// decodeCache maps a JSON text to its decoded form; get hands out copies.
type decodeCache[T any] struct {
	mu     sync.RWMutex
	m      map[string]T
	copy   func(T) T
	decode func([]byte) (T, error)
}

// get returns a fresh value decoded from b.
func (c *decodeCache[T]) get(b []byte) (T, error) {
	if len(b) <= decodedMaxLen {
		c.mu.RLock()
		tmpl, ok := c.m[string(b)]
		c.mu.RUnlock()
		if ok {
			return c.copy(tmpl), nil
		}
	}
	out, err := c.decode(b)
	if err != nil || len(b) > decodedMaxLen {
		return out, err
	}
	tmpl := c.copy(out)
	c.mu.Lock()
	if len(c.m) >= decodedMax {
		clear(c.m)
	}
	c.m[string(b)] = tmpl
	c.mu.Unlock()
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
	out, err := decodedLists.get(b)
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
