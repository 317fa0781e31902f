package rest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/internal/jsonenc"
)

// The connection responses are the hot ones: they are written field by
// field with jsonenc instead of through encoding/json's reflection, and
// give the same bytes WriteJSON would (encode_test.go compares them). On
// any error the caller falls back to WriteJSON, which reports it.

// writeConnection writes c as WriteJSON(w, status, c) would.
func writeConnection(w http.ResponseWriter, status int, c *model.Connection) {
	b, err := appendConnection(make([]byte, 0, 1024), c)
	if err != nil {
		WriteJSON(w, status, c)
		return
	}
	writeBody(w, status, append(b, '\n'))
}

// writeConnectionList writes l as WriteJSON(w, status, l) would.
func writeConnectionList(w http.ResponseWriter, status int, l connectionList) {
	b, err := appendConnectionList(make([]byte, 0, 512*(len(l.Connections)+1)), l)
	if err != nil {
		WriteJSON(w, status, l)
		return
	}
	writeBody(w, status, append(b, '\n'))
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func appendConnectionList(b []byte, l connectionList) ([]byte, error) {
	var err error
	b = append(b, `{"connections":`...)
	if l.Connections == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range l.Connections {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendConnection(b, c); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"hasNext":`...)
	b = strconv.AppendBool(b, l.HasNext)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(l.Limit), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(l.Offset), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(l.Total), 10)
	b = append(b, `,"users":`...)
	if l.Users == nil {
		b = append(b, "null"...)
	} else {
		ids := make([]string, 0, len(l.Users))
		for id := range l.Users {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		b = append(b, '{')
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, id, false)
			b = append(b, ':')
			u := l.Users[id]
			if u == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, `{"id":`...)
			b = jsonenc.AppendString(b, u.ID, false)
			b = append(b, `,"name":`...)
			b = jsonenc.AppendString(b, u.Name, false)
			b = append(b, `,"email":`...)
			b = jsonenc.AppendString(b, u.Email, false)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `,"nextCursor":`...)
	b = appendOptString(b, l.NextCursor)
	return append(b, '}'), nil
}

// appendConnection appends c as encoding/json writes a *model.Connection.
func appendConnection(b []byte, c *model.Connection) ([]byte, error) {
	if c == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, c.ID, false)
	b = append(b, `,"name":`...)
	b = jsonenc.AppendString(b, c.Name, false)
	b = append(b, `,"slug":`...)
	b = jsonenc.AppendString(b, c.Slug, false)
	b = append(b, `,"provider":`...)
	if b, err = appendEnum(b, string(c.Provider), c.Provider); err != nil {
		return nil, err
	}
	b = append(b, `,"config":`...)
	if b, err = appendMap(b, c.Config); err != nil {
		return nil, err
	}
	b = append(b, `,"hasCredentials":`...)
	b = strconv.AppendBool(b, c.HasCredentials)
	b = append(b, `,"status":`...)
	if b, err = appendEnum(b, string(c.Status), c.Status); err != nil {
		return nil, err
	}
	b = append(b, `,"visibility":`...)
	if b, err = appendEnum(b, string(c.Visibility), c.Visibility); err != nil {
		return nil, err
	}
	b = append(b, `,"isDefault":`...)
	b = strconv.AppendBool(b, c.IsDefault)
	b = append(b, `,"isFromTemplate":`...)
	b = strconv.AppendBool(b, c.IsFromTemplate)
	b = append(b, `,"lastUsedAt":`...)
	if b, err = appendOptTime(b, c.LastUsedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"lastVerifiedAt":`...)
	if b, err = appendOptTime(b, c.LastVerifiedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"verificationError":`...)
	b = appendOptString(b, c.VerificationError)
	b = append(b, `,"verificationErrorCode":`...)
	b = appendOptString(b, c.VerificationErrorCode)
	b = append(b, `,"verificationDetails":`...)
	if b, err = appendMap(b, c.VerificationDetails); err != nil {
		return nil, err
	}
	b = append(b, `,"createdAt":`...)
	if b, err = appendTime(b, c.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updatedAt":`...)
	if b, err = appendTime(b, c.UpdatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"createdBy":`...)
	b = jsonenc.AppendString(b, c.CreatedBy, false)
	b = append(b, `,"updatedBy":`...)
	b = jsonenc.AppendString(b, c.UpdatedBy, false)
	return append(b, '}'), nil
}

// appendEnum writes an enum of the model: a name of letters, digits and
// underscores is the quoted name, as its MarshalJSON writes it; any other
// value goes through its MarshalJSON.
func appendEnum(b []byte, s string, v json.Marshaler) ([]byte, error) {
	if out, ok := jsonenc.AppendName(b, s); ok {
		return out, nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}

func appendMap(b []byte, m map[string]any) ([]byte, error) {
	return jsonenc.AppendValue(b, m, false)
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

func appendOptTime(b []byte, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	return appendTime(b, *t)
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonenc.AppendString(b, *s, false)
}
