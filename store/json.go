package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
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

// Scan decodes JSON text or bytes.
func (m *JSONMap) Scan(src any) error {
	b, err := textBytes(src)
	if err != nil || len(b) == 0 {
		*m = JSONMap{}
		return err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("store: decode json object: %w", err)
	}
	*m = out
	return nil
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
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("store: decode json list: %w", err)
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
