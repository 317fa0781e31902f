package rest

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/junctionhq/junction/graph/model"
)

// The connection responses written field by field are the bytes
// WriteJSON (encoding/json) writes for the same values: awkward strings,
// nested and nil maps, missing times and users, enum values outside the
// schema, and a time encoding/json refuses (both answer the same 500).
func TestConnectionEncodersAsWriteJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 4, 5, 123456000, time.UTC)
	zoned := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -(3*3600+30*60)))
	awkward := "Ünïcode \"q\" <b>&amp;</b> \u2028 \x01\x1f\x7f 😀 \\ / bad\xff"
	full := &model.Connection{ID: "c1", Name: awkward, Slug: "s", Provider: model.ProviderPostgres,
		Config:         map[string]any{"host": "<h>", "port": 5432.0, "big": 1e21, "nested": map[string]any{"l": []any{1.0, nil, "x", true}}},
		HasCredentials: true, Status: model.ConnectionStatusActive, Visibility: model.VisibilityGlobal, IsDefault: true,
		LastUsedAt: &at, LastVerifiedAt: &zoned, VerificationError: &awkward, VerificationErrorCode: &awkward,
		VerificationDetails: map[string]any{"step": awkward}, CreatedAt: at, UpdatedAt: zoned, CreatedBy: "u1", UpdatedBy: awkward}
	bare := &model.Connection{ID: "c2", Provider: "not a \"provider\"", Status: "weird-status", Visibility: ""}
	farFuture := &model.Connection{ID: "c3", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	cursor := "cur<sor>"
	for _, tc := range []struct {
		name string
		c    *model.Connection
		l    *connectionList
	}{
		{name: "full", c: full},
		{name: "bare", c: bare},
		{name: "year 10000", c: farFuture},
		{name: "list", l: &connectionList{Connections: []*model.Connection{full, bare}, HasNext: true, Limit: 2, Offset: 4, Total: 9,
			Users: map[string]*model.User{"u2": {ID: "u2", Name: awkward, Email: "e"}, "u1": {ID: "u1"}, "gone": nil}, NextCursor: &cursor}},
		{name: "empty list", l: &connectionList{Connections: []*model.Connection{}, Users: map[string]*model.User{}}},
		{name: "nil list", l: &connectionList{}},
		{name: "list with a time encoding/json refuses", l: &connectionList{Connections: []*model.Connection{full, farFuture}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
			if tc.l != nil {
				writeConnectionList(fast, 200, *tc.l)
				WriteJSON(slow, 200, *tc.l)
			} else {
				writeConnection(fast, 201, tc.c)
				WriteJSON(slow, 201, tc.c)
			}
			if fast.Code != slow.Code || fast.Header().Get("Content-Type") != slow.Header().Get("Content-Type") ||
				!bytes.Equal(fast.Body.Bytes(), slow.Body.Bytes()) {
				t.Fatalf("field by field: %d %s\nencoding/json: %d %s", fast.Code, fast.Body, slow.Code, slow.Body)
			}
		})
	}
}
