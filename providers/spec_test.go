package providers_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/junctionhq/junction/providers"
)

var testSpec = providers.Spec{
	Name: "test",
	Fields: []providers.Field{
		{Name: "host", Type: providers.TypeString, Required: true, Target: true},
		{Name: "port", Type: providers.TypeInt, Default: 5432},
		{Name: "ssl", Type: providers.TypeBool, Default: false},
		{Name: "mode", Type: providers.TypeEnum, Enum: []string{"a", "b", "c"}, Default: "a"},
		{Name: "tags", Type: providers.TypeStringList, Default: []string{"default"}},
		{Name: "extra", Type: providers.TypeObject},
		{Name: "auth", Type: providers.TypeEnum, Enum: []string{"password", "key"}, Default: "password"},
		{Name: "region", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "mode", Values: []string{"b"}}},
		{Name: "verify_tls", Type: providers.TypeBool, RequiredWhen: &providers.Condition{Field: "ssl", Values: []string{"true"}}},
		{Name: "password", Secret: true, RequiredWhen: &providers.Condition{Field: "auth", Values: []string{"password"}}},
		{Name: "private_key", Secret: true, RequiredWhen: &providers.Condition{Field: "auth", Values: []string{"key"}}},
	},
}

type fe = providers.FieldError

func TestValidate(t *testing.T) {
	pw := map[string]string{"password": "pw-123"}
	defaults := map[string]any{"port": int64(5432), "ssl": false, "mode": "a", "tags": []string{"default"}, "auth": "password"}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{"host": "db"}
		for k, v := range defaults {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name    string
		config  map[string]any
		secrets map[string]string
		want    map[string]any // nil: not checked
		errs    []fe
	}{
		{"defaults applied", map[string]any{"host": "db"}, pw, with(nil), nil},
		{"null is absent", map[string]any{"host": "db", "port": nil, "mode": nil}, pw, with(nil), nil},
		{"unknown key", map[string]any{"host": "db", "bogus": 1}, pw, with(nil),
			[]fe{{Loc: []string{"config", "bogus"}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"}}},
		{"secret in config", map[string]any{"host": "db", "password": "pw-123"}, pw, nil,
			[]fe{{Loc: []string{"config", "password"}, Msg: `"password" is a secret: send it in credentials, not config`, Type: "extra_forbidden"}}},
		{"setting in credentials", map[string]any{"host": "db"}, map[string]string{"password": "pw", "host": "x"}, nil,
			[]fe{{Loc: []string{"credentials", "host"}, Msg: `"host" is not a secret: send it in config`, Type: "extra_forbidden"}}},
		{"unknown credential", map[string]any{"host": "db"}, map[string]string{"password": "pw", "token": "x"}, nil,
			[]fe{{Loc: []string{"credentials", "token"}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"}}},
		{"missing required", map[string]any{}, nil, nil, []fe{
			{Loc: []string{"config", "host"}, Msg: "Field required", Type: "missing"},
			{Loc: []string{"credentials", "password"}, Msg: "Field required", Type: "missing"},
		}},
		{"blank is missing", map[string]any{"host": "  "}, map[string]string{"password": " "}, nil, []fe{
			{Loc: []string{"config", "host"}, Msg: "Field required", Type: "missing"},
			{Loc: []string{"credentials", "password"}, Msg: "Field required", Type: "missing"},
		}},
		{"RequiredWhen switches the secret", map[string]any{"host": "db", "auth": "key"}, nil, nil,
			[]fe{{Loc: []string{"credentials", "private_key"}, Msg: "Field required", Type: "missing"}}},
		{"RequiredWhen on an enum", map[string]any{"host": "db", "mode": "b"}, pw, nil,
			[]fe{{Loc: []string{"config", "region"}, Msg: "Field required", Type: "missing"}}},
		{"RequiredWhen met", map[string]any{"host": "db", "mode": "b", "region": "eu"}, pw, with(map[string]any{"mode": "b", "region": "eu"}), nil},
		{"RequiredWhen on a bool", map[string]any{"host": "db", "ssl": "yes"}, pw, nil,
			[]fe{{Loc: []string{"config", "verify_tls"}, Msg: "Field required", Type: "missing"}}},
		{"int from string and float", map[string]any{"host": "db", "port": " 6432 "}, pw, with(map[string]any{"port": int64(6432)}), nil},
		{"int from whole float", map[string]any{"host": "db", "port": 6432.0}, pw, with(map[string]any{"port": int64(6432)}), nil},
		{"int from json.Number", map[string]any{"host": "db", "port": json.Number("6432")}, pw, with(map[string]any{"port": int64(6432)}), nil},
		{"int from json.Number exponent", map[string]any{"host": "db", "port": json.Number("6.432e3")}, pw, with(map[string]any{"port": int64(6432)}), nil},
		{"int_parsing", map[string]any{"host": "db", "port": "80a"}, pw, nil,
			[]fe{{Loc: []string{"config", "port"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"}}},
		{"int_from_float", map[string]any{"host": "db", "port": 1.5}, pw, nil,
			[]fe{{Loc: []string{"config", "port"}, Msg: "Input should be a valid integer, got a number with a fractional part", Type: "int_from_float"}}},
		{"int too large for a float", map[string]any{"host": "db", "port": 1e300}, pw, nil,
			[]fe{{Loc: []string{"config", "port"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"}}},
		{"int_type", map[string]any{"host": "db", "port": true}, pw, nil,
			[]fe{{Loc: []string{"config", "port"}, Msg: "Input should be a valid integer", Type: "int_type"}}},
		{"bool words", map[string]any{"host": "db", "ssl": "Off"}, pw, with(map[string]any{"ssl": false}), nil},
		{"bool from 1", map[string]any{"host": "db", "ssl": 1.0, "verify_tls": true}, pw, with(map[string]any{"ssl": true, "verify_tls": true}), nil},
		{"bool_parsing word", map[string]any{"host": "db", "ssl": "maybe"}, pw, nil,
			[]fe{{Loc: []string{"config", "ssl"}, Msg: "Input should be a valid boolean, unable to interpret input", Type: "bool_parsing"}}},
		{"bool_parsing number", map[string]any{"host": "db", "ssl": 2.0}, pw, nil,
			[]fe{{Loc: []string{"config", "ssl"}, Msg: "Input should be a valid boolean, unable to interpret input", Type: "bool_parsing"}}},
		{"bool_type", map[string]any{"host": "db", "ssl": []any{}}, pw, nil,
			[]fe{{Loc: []string{"config", "ssl"}, Msg: "Input should be a valid boolean", Type: "bool_type"}}},
		{"enum lists the allowed values", map[string]any{"host": "db", "mode": "z"}, pw, nil,
			[]fe{{Loc: []string{"config", "mode"}, Msg: "Input should be 'a', 'b' or 'c'", Type: "enum"}}},
		{"enum of another type", map[string]any{"host": "db", "auth": 3.0}, pw, nil,
			[]fe{{Loc: []string{"config", "auth"}, Msg: "Input should be 'password' or 'key'", Type: "enum"}}},
		{"string_type", map[string]any{"host": 5.0}, pw, nil,
			[]fe{{Loc: []string{"config", "host"}, Msg: "Input should be a valid string", Type: "string_type"}}},
		{"list", map[string]any{"host": "db", "tags": []any{"a", "b"}}, pw, with(map[string]any{"tags": []string{"a", "b"}}), nil},
		{"list_type", map[string]any{"host": "db", "tags": "a,b"}, pw, nil,
			[]fe{{Loc: []string{"config", "tags"}, Msg: "Input should be a valid list", Type: "list_type"}}},
		{"list element", map[string]any{"host": "db", "tags": []any{"a", 1.0}}, pw, nil,
			[]fe{{Loc: []string{"config", "tags", "1"}, Msg: "Input should be a valid string", Type: "string_type"}}},
		{"dict", map[string]any{"host": "db", "extra": map[string]any{"k": "v"}}, pw, with(map[string]any{"extra": map[string]any{"k": "v"}}), nil},
		{"dict_type", map[string]any{"host": "db", "extra": []any{"k"}}, pw, nil,
			[]fe{{Loc: []string{"config", "extra"}, Msg: "Input should be a valid dictionary", Type: "dict_type"}}},
		{"every problem once, in order", map[string]any{"zz": 1, "port": "x", "host": 1.0, "aa": 2}, map[string]string{"yy": "1"}, nil, []fe{
			{Loc: []string{"config", "aa"}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"},
			{Loc: []string{"config", "host"}, Msg: "Input should be a valid string", Type: "string_type"},
			{Loc: []string{"config", "port"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"},
			{Loc: []string{"config", "zz"}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"},
			{Loc: []string{"credentials", "yy"}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"},
			{Loc: []string{"credentials", "password"}, Msg: "Field required", Type: "missing"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := testSpec.Validate(tt.config, tt.secrets)
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors\n got %+v\nwant %+v", errs, tt.errs)
			}
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("config\n got %#v\nwant %#v", out, tt.want)
			}
		})
	}
}

// TestValidateDefaultsNotShared: a caller changing a returned default does
// not change the spec's.
func TestValidateDefaultsNotShared(t *testing.T) {
	out, _ := testSpec.Validate(map[string]any{"host": "db"}, map[string]string{"password": "pw"})
	out["tags"].([]string)[0] = "changed"
	out2, _ := testSpec.Validate(map[string]any{"host": "db"}, map[string]string{"password": "pw"})
	if got := out2["tags"].([]string)[0]; got != "default" {
		t.Fatalf("default became %q", got)
	}
	in := []string{"a"}
	out3, _ := testSpec.Validate(map[string]any{"host": "db", "tags": in}, map[string]string{"password": "pw"})
	out3["tags"].([]string)[0] = "changed"
	if in[0] != "a" {
		t.Fatal("the input list was aliased")
	}
}

func TestSpecFields(t *testing.T) {
	names := func(fs []providers.Field) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	if got := names(testSpec.SecretFields()); !slices.Equal(got, []string{"password", "private_key"}) {
		t.Errorf("SecretFields %v", got)
	}
	if got := names(testSpec.ConfigFields()); len(got) != 9 || got[0] != "host" {
		t.Errorf("ConfigFields %v", got)
	}
	if got := testSpec.TargetFields(); !slices.Equal(got, []string{"host"}) {
		t.Errorf("TargetFields %v", got)
	}
	if _, ok := testSpec.Field("nope"); ok {
		t.Error("Field found an unknown name")
	}
}

// FuzzValidate feeds arbitrary JSON config and credentials: Validate never
// panics, every problem is well formed, the normalised config holds only
// declared settings of their declared Go types, and validating it again
// reports no type problem and changes nothing.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"host":"db","port":"5432","ssl":"yes","tags":["a"],"extra":{"k":1}}`), []byte(`{"password":"x"}`), false)
	f.Add([]byte(`{"host":1,"port":1.5,"mode":"z","tags":"a","extra":[]}`), []byte(`{"host":"x"}`), true)
	f.Add([]byte(`{"auth":"key","mode":"b","ssl":1,"port":1e400}`), []byte(`{}`), true)
	f.Add([]byte(`{"port":null,"tags":[null],"bogus":{}}`), []byte(`{"private_key":""}`), false)
	f.Fuzz(func(t *testing.T, cfgJSON, secJSON []byte, useNumber bool) {
		var cfg map[string]any
		dec := json.NewDecoder(bytes.NewReader(cfgJSON))
		if useNumber {
			dec.UseNumber()
		}
		if dec.Decode(&cfg) != nil {
			return
		}
		var secrets map[string]string
		if json.Unmarshal(secJSON, &secrets) != nil {
			secrets = nil
		}
		out, errs := testSpec.Validate(cfg, secrets)
		for _, e := range errs {
			if len(e.Loc) < 2 || (e.Loc[0] != "config" && e.Loc[0] != "credentials") || e.Msg == "" || e.Type == "" {
				t.Fatalf("malformed problem %+v", e)
			}
		}
		for k, v := range out {
			fld, ok := testSpec.Field(k)
			if !ok || fld.Secret {
				t.Fatalf("normalised config holds %q", k)
			}
			var typeOK bool
			switch fld.Type {
			case providers.TypeString, providers.TypeEnum:
				_, typeOK = v.(string)
			case providers.TypeInt:
				_, typeOK = v.(int64)
			case providers.TypeBool:
				_, typeOK = v.(bool)
			case providers.TypeStringList:
				_, typeOK = v.([]string)
			case providers.TypeObject:
				_, typeOK = v.(map[string]any)
			}
			if !typeOK {
				t.Fatalf("%s normalised to %T", k, v)
			}
		}
		again, errs2 := testSpec.Validate(out, secrets)
		if !reflect.DeepEqual(again, out) {
			t.Fatalf("revalidating changed the config:\n%#v\n%#v", out, again)
		}
		for _, e := range errs2 {
			if e.Loc[0] == "config" && e.Type != "missing" {
				t.Fatalf("the normalised config has a problem: %+v", e)
			}
		}
	})
}
