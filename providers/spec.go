package providers

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FieldType is the JSON type a config field takes. Secrets are always strings.
type FieldType string

// The field types a Spec can declare.
const (
	TypeString     FieldType = "string"
	TypeInt        FieldType = "int"
	TypeBool       FieldType = "bool"
	TypeEnum       FieldType = "enum"
	TypeStringList FieldType = "string_list"
	TypeObject     FieldType = "object"
)

// Condition makes a field required only when another field has one of Values.
type Condition struct {
	Field  string
	Values []string
}

// Field describes one config or secret field of a provider.
type Field struct {
	Name     string
	Label    string
	Type     FieldType
	Secret   bool
	Required bool
	// RequiredWhen, if set, makes the field required when the condition holds.
	RequiredWhen *Condition
	Default      any
	Enum         []string
	// Target marks a field that says where the connection goes (host, URL,
	// endpoint, domain, instance). Changing it without re-sending the secrets is
	// refused, so stored secrets cannot be pointed at another server.
	Target bool
	Help   string
}

// Spec describes a provider: its fields, how it authenticates and what it can do.
type Spec struct {
	Name         string
	Label        string
	Category     string   // "database", "files" or "api"
	AuthKinds    []string // "password", "api_key", "oauth2_refresh_token", ...
	Capabilities []string // "verify", "files", "schema", "query"
	Fields       []Field
	// DocsNote says where public documentation is partial and what was assumed.
	DocsNote string
}

// Field returns the named field.
func (s Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// ConfigFields returns the non-secret fields in declaration order.
func (s Spec) ConfigFields() []Field {
	return slices.DeleteFunc(slices.Clone(s.Fields), func(f Field) bool { return f.Secret })
}

// SecretFields returns the secret fields in declaration order.
func (s Spec) SecretFields() []Field {
	return slices.DeleteFunc(slices.Clone(s.Fields), func(f Field) bool { return !f.Secret })
}

// TargetFields returns the names of the fields that say where the connection goes.
func (s Spec) TargetFields() []string {
	var out []string
	for _, f := range s.Fields {
		if f.Target {
			out = append(out, f.Name)
		}
	}
	return out
}

// FieldError is one validation problem. Loc is relative to the request body
// ("config", "port"); Type is the pydantic v2 error type name.
type FieldError struct {
	Loc  []string
	Msg  string
	Type string
}

// Validate checks config and secrets against the spec and returns the config
// normalised (defaults applied, numbers as int64) and every problem found, in
// a stable order. Unknown keys, missing required fields and wrong types are
// each reported once.
func (s Spec) Validate(config map[string]any, secrets map[string]string) (map[string]any, []FieldError) {
	var errs []FieldError
	out := make(map[string]any, len(config))
	// A field with a wrong type is reported once, not also as missing.
	bad := map[string]bool{}
	for _, k := range sortedKeys(config) {
		f, ok := s.Field(k)
		if !ok || f.Secret {
			msg := "Extra inputs are not permitted"
			if ok {
				msg = fmt.Sprintf("%q is a secret: send it in credentials, not config", k)
			}
			errs = append(errs, FieldError{Loc: []string{"config", k}, Msg: msg, Type: "extra_forbidden"})
			continue
		}
		v, fe := f.coerce(config[k])
		if fe != nil {
			fe.Loc = append([]string{"config", k}, fe.Loc...)
			errs = append(errs, *fe)
			bad[k] = true
			continue
		}
		if v != nil {
			out[k] = v
		}
	}
	for _, k := range sortedKeys(secrets) {
		f, ok := s.Field(k)
		if !ok || !f.Secret {
			msg := "Extra inputs are not permitted"
			if ok {
				msg = fmt.Sprintf("%q is not a secret: send it in config", k)
			}
			errs = append(errs, FieldError{Loc: []string{"credentials", k}, Msg: msg, Type: "extra_forbidden"})
		}
	}
	for _, f := range s.Fields {
		if f.Secret || f.Default == nil {
			continue
		}
		if _, ok := out[f.Name]; !ok {
			out[f.Name] = f.defaultValue()
		}
	}
	for _, f := range s.Fields {
		if !s.required(f, out) || bad[f.Name] {
			continue
		}
		if f.Secret {
			if strings.TrimSpace(secrets[f.Name]) == "" {
				errs = append(errs, FieldError{Loc: []string{"credentials", f.Name}, Msg: "Field required", Type: "missing"})
			}
			continue
		}
		if v, ok := out[f.Name]; !ok || isBlank(v) {
			errs = append(errs, FieldError{Loc: []string{"config", f.Name}, Msg: "Field required", Type: "missing"})
		}
	}
	return out, errs
}

func (s Spec) required(f Field, cfg map[string]any) bool {
	if f.Required {
		return true
	}
	if f.RequiredWhen == nil {
		return false
	}
	v := fmt.Sprint(cfg[f.RequiredWhen.Field])
	return slices.Contains(f.RequiredWhen.Values, v)
}

// Pydantic v2 messages for the error types Validate reports.
const (
	msgStringType   = "Input should be a valid string"
	msgIntParsing   = "Input should be a valid integer, unable to parse string as an integer"
	msgIntFromFloat = "Input should be a valid integer, got a number with a fractional part"
	msgIntType      = "Input should be a valid integer"
	msgBoolParsing  = "Input should be a valid boolean, unable to interpret input"
	msgBoolType     = "Input should be a valid boolean"
	msgListType     = "Input should be a valid list"
	msgDictType     = "Input should be a valid dictionary"
)

// coerce checks v against the field's type in pydantic's lax mode and
// returns it normalised (integers as int64, lists as []string). A nil v is
// absent.
func (f Field) coerce(v any) (any, *FieldError) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case TypeString, "":
		s, ok := v.(string)
		if !ok {
			return nil, &FieldError{Msg: msgStringType, Type: "string_type"}
		}
		return s, nil
	case TypeEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Enum, s) {
			return nil, &FieldError{Msg: "Input should be " + quoteList(f.Enum), Type: "enum"}
		}
		return s, nil
	case TypeInt:
		return toInt(v)
	case TypeBool:
		return toBool(v)
	case TypeStringList:
		switch l := v.(type) {
		case []string:
			return slices.Clone(l), nil
		case []any:
			out := make([]string, 0, len(l))
			for i, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, &FieldError{Loc: []string{strconv.Itoa(i)}, Msg: msgStringType, Type: "string_type"}
				}
				out = append(out, s)
			}
			return out, nil
		}
		return nil, &FieldError{Msg: msgListType, Type: "list_type"}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, &FieldError{Msg: msgDictType, Type: "dict_type"}
	}
	return nil, &FieldError{Msg: "Unsupported field type", Type: "value_error"}
}

// defaultValue returns the field's default normalised like an input (so an
// int default is int64) and copied (so no caller can change the spec's).
func (f Field) defaultValue() any {
	v, fe := f.coerce(f.Default)
	if fe != nil {
		return f.Default // a spec bug; the spec tests catch it
	}
	if m, ok := v.(map[string]any); ok {
		return maps.Clone(m)
	}
	return v
}

func isBlank(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t) == ""
	case []string:
		return len(t) == 0
	}
	return false
}

func toInt(v any) (any, *FieldError) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case float64:
		return floatToInt(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
		f, err := n.Float64()
		if err != nil {
			return nil, &FieldError{Msg: msgIntParsing, Type: "int_parsing"}
		}
		return floatToInt(f)
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return i, nil
		}
		return nil, &FieldError{Msg: msgIntParsing, Type: "int_parsing"}
	}
	return nil, &FieldError{Msg: msgIntType, Type: "int_type"}
}

func floatToInt(n float64) (any, *FieldError) {
	if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > 1<<53 {
		return nil, &FieldError{Msg: msgIntParsing, Type: "int_parsing"}
	}
	if n != math.Trunc(n) {
		return nil, &FieldError{Msg: msgIntFromFloat, Type: "int_from_float"}
	}
	return int64(n), nil
}

// toBool accepts what pydantic's lax mode does: booleans, the strings
// true/false, yes/no, on/off, t/f, y/n, 1/0 (any case), and the numbers 0 and 1.
func toBool(v any) (any, *FieldError) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true", "1", "yes", "on", "t", "y":
			return true, nil
		case "false", "0", "no", "off", "f", "n":
			return false, nil
		}
		return nil, &FieldError{Msg: msgBoolParsing, Type: "bool_parsing"}
	case int, int64, float64, json.Number:
		switch fmt.Sprint(b) {
		case "0", "0.0":
			return false, nil
		case "1", "1.0":
			return true, nil
		}
		return nil, &FieldError{Msg: msgBoolParsing, Type: "bool_parsing"}
	}
	return nil, &FieldError{Msg: msgBoolType, Type: "bool_type"}
}

// quoteList renders values the way pydantic names enum members: 'a', 'b' or 'c'.
func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'"
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
