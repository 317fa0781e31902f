package sqlserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/junctionhq/junction/providers/providertest"
)

// This file extends the TDS fake of verify_test.go into a small SQL Server
// that serves many requests on each connection: SQL batches (decoded from
// UCS-2), RPC calls of sp_executesql (the statement, and the parameters
// go-mssqldb sends for strings, integers and booleans), and attentions
// (answered with DONE_ATTN). A test's handler answers each request with
// tokens; every request is recorded.

// tdsRequest is one request a client sent.
type tdsRequest struct {
	rpc  bool   // sp_executesql rather than a plain batch
	sql  string // the batch text, or sp_executesql's @stmt
	args []any  // @p1... as string, int64 or bool (nil for NULL)
	conn int    // which accepted connection sent it (1-based)
}

// tdsHandler answers a request with response tokens (ending in a DONE), or
// nil to leave it running until the client sends an attention.
type tdsHandler func(req tdsRequest) []byte

// tdsServer is a fake SQL Server that accepts the login of user "reader",
// password "pw-123456" on database "sales" without encryption.
type tdsServer struct {
	port int64

	mu       sync.Mutex
	handler  tdsHandler
	requests []tdsRequest
	conns    int
	attns    int
	closed   int // logged-in connections the client closed
}

func newTDSServer(t *testing.T, handler tdsHandler) *tdsServer {
	s := &tdsServer{handler: handler}
	s.port = providertest.Serve(t, tcpListener(t), s.serve)
	return s
}

// settings are the connection settings that reach s.
func (s *tdsServer) settings() map[string]any {
	return with(local(s.port), "encrypt", "disable")
}

// log returns the requests so far.
func (s *tdsServer) log() []tdsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tdsRequest(nil), s.requests...)
}

// connCount is how many connections logged in.
func (s *tdsServer) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *tdsServer) serve(c net.Conn) {
	if typ, _, err := readPacket(c); err != nil || typ != 0x12 {
		return
	}
	c.Write(packet(0x04, []byte{0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xFF, 16, 0, 0, 0, 0, 0, 2}))
	typ, login, err := readPacket(c)
	if err != nil || typ != 0x10 {
		return
	}
	if loginField(login, 40, false) != "reader" || loginField(login, 44, true) != "pw-123456" || loginField(login, 68, false) != "sales" {
		c.Write(packet(0x04, errorToken(18456, "Login failed for user 'reader'.")))
		return
	}
	c.Write(packet(0x04, loginAck()))
	s.mu.Lock()
	s.conns++
	id := s.conns
	s.mu.Unlock()
	serveRequests(c, func(req tdsRequest) []byte {
		req.conn = id
		s.mu.Lock()
		s.requests = append(s.requests, req)
		h := s.handler
		s.mu.Unlock()
		return h(req)
	}, func() {
		s.mu.Lock()
		s.attns++
		s.mu.Unlock()
	})
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
}

// loginAck is LOGINACK and DONE, accepting a LOGIN7.
func loginAck() []byte {
	ack := []byte{1, 0x74, 0, 0, 4}
	name := ucs2("Fake SQL Server")
	ack = append(ack, byte(len(name)/2))
	ack = append(ack, name...)
	ack = append(ack, 16, 0, 0, 0)
	tok := binary.LittleEndian.AppendUint16([]byte{0xAD}, uint16(len(ack)))
	tok = append(tok, ack...)
	return append(tok, done(0)...)
}

// serveRequests answers the requests of a logged-in connection until it
// closes: batches and RPCs through handle, attentions with DONE_ATTN.
func serveRequests(c net.Conn, handle tdsHandler, attention func()) {
	for {
		typ, payload, err := readPacket(c)
		if err != nil {
			return
		}
		var req tdsRequest
		switch typ {
		case 0x01: // SQL batch
			req.sql = fromUCS2(skipAllHeaders(payload))
		case 0x03: // RPC
			if req.sql, req.args, err = parseRPC(skipAllHeaders(payload)); err != nil {
				c.Write(packet(0x04, errorToken(8144, "fake: "+err.Error())))
				continue
			}
			req.rpc = true
		case 0x06: // attention
			if attention != nil {
				attention()
			}
			c.Write(packet(0x04, done(0x20)))
			continue
		default:
			c.Write(packet(0x04, errorToken(50000, fmt.Sprintf("fake: unexpected packet type %#x", typ))))
			continue
		}
		if resp := handle(req); resp != nil { // nil: no answer (a statement still running)
			writeMessage(c, resp)
		}
	}
}

// writeMessage writes a response as TDS packets of at most 4,096 bytes.
func writeMessage(c net.Conn, payload []byte) {
	for len(payload) > 4088 {
		p := packet(0x04, payload[:4088])
		p[1] = 0 // not the end of the message
		c.Write(p)
		payload = payload[4088:]
	}
	c.Write(packet(0x04, payload))
}

func skipAllHeaders(p []byte) []byte {
	if len(p) < 4 {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(p))
	if n > len(p) {
		return nil
	}
	return p[n:]
}

func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// parseRPC decodes an sp_executesql call: @stmt, @params, then the values.
func parseRPC(p []byte) (stmt string, args []any, err error) {
	r := reader{b: p}
	if r.u16() != 0xFFFF || r.u16() != 10 {
		return "", nil, errors.New("not sp_executesql")
	}
	r.u16() // option flags
	var params []any
	for r.err == nil && len(r.b) > 0 {
		r.bytes(2 * int(r.u8())) // name
		r.u8()                   // status
		switch typ := r.u8(); typ {
		case 0xE7: // NVARCHAR
			size := r.u16()
			r.bytes(5) // collation
			if size == 0xFFFF {
				params = append(params, r.plp())
				continue
			}
			n := r.u16()
			if n == 0xFFFF {
				params = append(params, nil)
				continue
			}
			params = append(params, fromUCS2(r.bytes(int(n))))
		case 0x26, 0x68: // INTN, BITN
			r.u8()
			v := r.bytes(int(r.u8()))
			switch {
			case len(v) == 0:
				params = append(params, nil)
			case typ == 0x68:
				params = append(params, v[0] != 0)
			default:
				var n uint64
				for i := len(v) - 1; i >= 0; i-- {
					n = n<<8 | uint64(v[i])
				}
				params = append(params, int64(n))
			}
		default:
			return "", nil, fmt.Errorf("parameter type %#x", typ)
		}
	}
	if r.err != nil || len(params) < 2 {
		return "", nil, fmt.Errorf("bad RPC: %v", r.err)
	}
	s, _ := params[0].(string)
	return s, params[2:], nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errors.New("short RPC")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

// plp reads a PLP (max) string: a total length, chunks, a zero terminator.
func (r *reader) plp() any {
	if total := r.bytes(8); total == nil || binary.LittleEndian.Uint64(total) == math.MaxUint64 {
		return nil
	}
	var data []byte
	for r.err == nil {
		b := r.bytes(4)
		if b == nil {
			break
		}
		n := binary.LittleEndian.Uint32(b)
		if n == 0 {
			break
		}
		data = append(data, r.bytes(int(n))...)
	}
	return fromUCS2(data)
}

// tdsCol is a result column of the fake: a name and a type, spelled as
// T-SQL (nvarchar(40), nvarchar(max), int, bigint, bit, decimal(10,2), float,
// uniqueidentifier, varbinary(16), date, datetime2(7), money).
type tdsCol struct {
	name string
	typ  string
}

// resultSet encodes COLMETADATA, one ROW per row and DONE (with the count).
// Values: string, int64, bool, float64, [16]byte (a GUID as sent on the
// wire), []byte, time.Time, a decimal or money as its unscaled int64, or nil.
func resultSet(cols []tdsCol, rows ...[]any) []byte {
	b := binary.LittleEndian.AppendUint16([]byte{0x81}, uint16(len(cols)))
	for _, c := range cols {
		b = append(b, 0, 0, 0, 0, 0x01, 0x00) // user type, flags: nullable
		b = append(b, typeInfo(c.typ)...)
		name := ucs2(c.name)
		b = append(b, byte(len(name)/2))
		b = append(b, name...)
	}
	for _, row := range rows {
		b = append(b, 0xD1)
		for i, v := range row {
			b = append(b, encodeValue(cols[i].typ, v)...)
		}
	}
	d := done(0x10)
	binary.LittleEndian.PutUint64(d[5:], uint64(len(rows)))
	return append(b, d...)
}

var collation = []byte{0x09, 0x04, 0xD0, 0x00, 0x34}

func typeInfo(typ string) []byte {
	var n, p, s int
	switch {
	case typ == "nvarchar(max)":
		return append([]byte{0xE7, 0xFF, 0xFF}, collation...)
	case strings.HasPrefix(typ, "nvarchar("):
		fmt.Sscanf(typ, "nvarchar(%d)", &n)
		return append(binary.LittleEndian.AppendUint16([]byte{0xE7}, uint16(2*n)), collation...)
	case strings.HasPrefix(typ, "varbinary("):
		fmt.Sscanf(typ, "varbinary(%d)", &n)
		return binary.LittleEndian.AppendUint16([]byte{0xA5}, uint16(n))
	case strings.HasPrefix(typ, "decimal("):
		fmt.Sscanf(typ, "decimal(%d,%d)", &p, &s)
		return []byte{0x6A, 9, byte(p), byte(s)}
	case typ == "int":
		return []byte{0x26, 4}
	case typ == "bigint":
		return []byte{0x26, 8}
	case typ == "bit":
		return []byte{0x68, 1}
	case typ == "float":
		return []byte{0x6D, 8}
	case typ == "money":
		return []byte{0x6E, 8}
	case typ == "uniqueidentifier":
		return []byte{0x24, 16}
	case typ == "date":
		return []byte{0x28}
	case typ == "datetime2(7)":
		return []byte{0x2A, 7}
	}
	panic("fake: no type " + typ)
}

func encodeValue(typ string, v any) []byte {
	if v == nil {
		switch {
		case typ == "nvarchar(max)":
			return binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
		case strings.HasPrefix(typ, "nvarchar("), strings.HasPrefix(typ, "varbinary("):
			return []byte{0xFF, 0xFF}
		}
		return []byte{0}
	}
	le := func(n uint64, size int) []byte {
		out := make([]byte, size)
		for i := range out {
			out[i] = byte(n >> (8 * i))
		}
		return out
	}
	switch x := v.(type) {
	case string:
		u := ucs2(x)
		if typ == "nvarchar(max)" {
			b := binary.LittleEndian.AppendUint64(nil, uint64(len(u)))
			b = binary.LittleEndian.AppendUint32(b, uint32(len(u)))
			b = append(b, u...)
			return binary.LittleEndian.AppendUint32(b, 0)
		}
		return append(binary.LittleEndian.AppendUint16(nil, uint16(len(u))), u...)
	case []byte:
		return append(binary.LittleEndian.AppendUint16(nil, uint16(len(x))), x...)
	case [16]byte:
		return append([]byte{16}, x[:]...)
	case bool:
		if x {
			return []byte{1, 1}
		}
		return []byte{1, 0}
	case float64:
		return append([]byte{8}, le(math.Float64bits(x), 8)...)
	case time.Time:
		days := uint64((x.Unix() - time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()) / 86400)
		if typ == "date" {
			return append([]byte{3}, le(days, 3)...)
		}
		midnight := time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
		ticks := uint64(x.Sub(midnight) / 100) // scale 7: units of 100ns
		return append(append([]byte{8}, le(ticks, 5)...), le(days, 3)...)
	case int64:
		switch {
		case typ == "int":
			return append([]byte{4}, le(uint64(x), 4)...)
		case typ == "money":
			u := uint64(x)
			return append([]byte{8}, append(le(u>>32, 4), le(u&0xFFFFFFFF, 4)...)...)
		case strings.HasPrefix(typ, "decimal("):
			sign := byte(1)
			if x < 0 {
				sign, x = 0, -x
			}
			return append([]byte{9, sign}, le(uint64(x), 8)...)
		}
		return append([]byte{8}, le(uint64(x), 8)...)
	}
	panic(fmt.Sprintf("fake: no encoding of %T", v))
}
