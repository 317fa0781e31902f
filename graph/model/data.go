package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// FileItem is one file or folder of a listing. Size and MimeType are null for
// folders.
type FileItem struct {
	ID         string     `json:"id"`
	Kind       FileKind   `json:"kind"`
	MimeType   *string    `json:"mimeType"`
	ModifiedAt *time.Time `json:"modifiedAt"`
	Name       string     `json:"name"`
	Path       string     `json:"path"`
	Size       *int64     `json:"size"`
}

// SchemaTable is one table of a connection's catalog. Columns is the lazy
// GraphQL field: it is filled, for every table of the list in one driver
// call, only when the operation selects it (so it is a plain field, not a
// resolver per table), and it is never part of the REST tables answer.
type SchemaTable struct {
	Schema         string    `json:"schema"`
	Table          string    `json:"table"`
	NormalizedName string    `json:"normalizedName"`
	Spec           string    `json:"spec"`
	Kind           TableKind `json:"kind"`

	Columns []*SchemaColumn `json:"-"`
}

// Row is one result row: the JSON encoding of each value, in column order.
// It is written as a JSON object whose keys are the columns in order;
// duplicate column names are kept, as PostgreSQL returns them.
type Row struct {
	Columns []string
	Values  []json.RawMessage
}

// MarshalJSON writes the row as an ordered JSON object.
func (r Row) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	r.write(&buf)
	return buf.Bytes(), nil
}

// MarshalGQL writes the row as an ordered JSON object.
func (r Row) MarshalGQL(w io.Writer) {
	var buf bytes.Buffer
	r.write(&buf)
	w.Write(buf.Bytes())
}

// UnmarshalGQL refuses input: Row is an output type.
func (r *Row) UnmarshalGQL(v any) error { return errors.New("Row is an output-only scalar") }

func (r Row) write(buf *bytes.Buffer) {
	buf.WriteByte('{')
	for i, c := range r.Columns {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		buf.Write(k)
		buf.WriteByte(':')
		if i < len(r.Values) && len(r.Values[i]) > 0 {
			buf.Write(r.Values[i])
		} else {
			buf.WriteString("null")
		}
	}
	buf.WriteByte('}')
}
