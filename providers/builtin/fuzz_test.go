package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

// FuzzOpen: for any provider and any config and credentials that pass its
// spec's validation, Open never panics and returns quickly without network
// I/O (the Config has no client: any dial fails closed), and when it refuses
// a setting, the field it names is one of the spec's, so the API's 422 lands
// on a real field (issue 9 item 2).
func FuzzOpen(f *testing.F) {
	f.Add(uint8(0), []byte(`{"base_url":"https://api.example.com","extra_headers":{"Cookie":"x"}}`), []byte(`{}`))
	f.Add(uint8(1), []byte(`{"host":"db","database":"d","user":"u","port":99999}`), []byte(`{"password":"p"}`))
	f.Add(uint8(2), []byte(`{"host":"h","username":"u","host_key_fingerprint":"SHA256:x","port":-1}`), []byte(`{"password":"p"}`))
	f.Add(uint8(3), []byte(`{"bucket":"b","region":"r","endpoint":"ht!tp://x"}`), []byte(`{"access_key_id":"a","secret_access_key":"s"}`))
	reg := Registry()
	names := reg.Names()
	f.Fuzz(func(t *testing.T, which uint8, cfgJSON, secJSON []byte) {
		drv, _ := reg.Get(names[int(which)%len(names)])
		var cfg map[string]any
		dec := json.NewDecoder(bytes.NewReader(cfgJSON))
		dec.UseNumber()
		if dec.Decode(&cfg) != nil {
			return
		}
		var secrets map[string]string
		if json.Unmarshal(secJSON, &secrets) != nil {
			return
		}
		norm, errs := drv.Spec().Validate(cfg, secrets)
		if len(errs) > 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		conn, err := drv.Open(ctx, providers.Config{Settings: norm, Secrets: secrets})
		if time.Since(start) > 2*time.Second {
			t.Fatalf("%s: Open took %s", drv.Name(), time.Since(start))
		}
		if err == nil {
			conn.Close()
			return
		}
		var pe *providers.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%s: Open returned %T %v, not a *providers.Error", drv.Name(), err, err)
		}
		if len(pe.Field) > 0 {
			if _, ok := drv.Spec().Field(pe.Field[0]); !ok || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("%s: refusal at %v (%s), not a field of the spec", drv.Name(), pe.Field, pe.Code)
			}
		}
	})
}
