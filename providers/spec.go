package providers

import (
	"encoding/json"
	"fmt"
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
			fe.Loc = []string{"config", k}
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
			out[f.Name] = f.Default
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
		if v, ok := out[f.Name]; !ok || v == "" {
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

func (f Field) coerce(v any) (any, *FieldError) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case TypeString, "":
		s, ok := v.(string)
		if !ok {
			return nil, &FieldError{Msg: "Input should be a valid string", Type: "string_type"}
		}
		return s, nil
	case TypeEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Enum, s) {
			return nil, &FieldError{Msg: "Input should be " + quoteList(f.Enum), Type: "enum"}
		}
		return s, nil
	case TypeInt:
		n, ok := toInt(v)
		if !ok {
			return nil, &FieldError{Msg: "Input should be a valid integer", Type: "int_parsing"}
		}
		return n, nil
	case TypeBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if p, err := strconv.ParseBool(b); err == nil {
				return p, nil
			}
		}
		return nil, &FieldError{Msg: "Input should be a valid boolean", Type: "bool_parsing"}
	case TypeStringList:
		switch l := v.(type) {
		case []string:
			return l, nil
		case []any:
			out := make([]string, 0, len(l))
			for _, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, &FieldError{Msg: "Input should be a list of strings", Type: "list_type"}
				}
				out = append(out, s)
			}
			return out, nil
		}
		return nil, &FieldError{Msg: "Input should be a valid list", Type: "list_type"}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, &FieldError{Msg: "Input should be a valid dictionary", Type: "dict_type"}
	}
	return nil, &FieldError{Msg: "Unsupported field type", Type: "value_error"}
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i, err == nil
	}
	return 0, false
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
