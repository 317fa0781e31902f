package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// JSONValue is one JSON value of an upstream answer (a query row's field)
// ready for a RowBuilder, so it comes out in the API's value encoding:
// null, booleans and strings as themselves, integers as an int64 (a number
// within ±2^53, a string past it) or, past int64, as their digits in a
// string, other numbers as sent, objects and arrays as their JSON (RawJSON).
// An empty value is null.
func JSONValue(raw json.RawMessage) any {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		return nil
	case raw[0] == 't' || raw[0] == 'f':
		return raw[0] == 't'
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	case raw[0] == '{' || raw[0] == '[':
		return RawJSON(raw)
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n
	}
	if !bytes.ContainsAny(raw, ".eE") {
		return string(raw) // an integer past int64
	}
	return RawJSON(raw)
}

// JSONType names the JSON type of a value as a column's data type:
// "boolean", "string", "number", "object" or "array"; "" for null (or an
// empty value), which says nothing of the column.
func JSONType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		return ""
	case raw[0] == 't' || raw[0] == 'f':
		return "boolean"
	case raw[0] == '"':
		return "string"
	case raw[0] == '{':
		return "object"
	case raw[0] == '[':
		return "array"
	}
	return "number"
}

// DecodeOrderedObject decodes a JSON object into its keys, in the order
// sent (a record's SELECT order), and their raw values. Anything but one
// object is an error.
func DecodeOrderedObject(raw []byte) (keys []string, vals []json.RawMessage, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys, vals = append(keys, key), append(vals, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the object")
	}
	return keys, vals, nil
}

// ValidName reports whether s is a plain API name: 1 to 255 ASCII letters,
// digits and underscores (an sObject, a record type, a field). A driver
// checks a name with it before putting it in a request path or a generated
// statement.
func ValidName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
