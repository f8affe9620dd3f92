package awssim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
)

// jsonDecoder is a smithy.ShapeDeserializer over an awsJson request body,
// the server-side mirror of the SDK's awsJson serializer: members by their
// member name, blobs base64, timestamps epoch seconds. Unknown members are
// skipped, as the services do.
type jsonDecoder struct {
	stack []jsonFrame
	cur   any // value the next Read* call consumes
}

type jsonFrame struct {
	schema *smithy.Schema
	obj    map[string]any
	keys   []string
	arr    []any
	i      int
}

func newJSONDecoder(body []byte) (*jsonDecoder, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if len(bytes.TrimSpace(body)) > 0 {
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("the request body is not JSON: %w", err)
		}
	}
	if v == nil {
		v = map[string]any{}
	}
	return &jsonDecoder{cur: v}, nil
}

func (d *jsonDecoder) top() *jsonFrame { return &d.stack[len(d.stack)-1] }

func (d *jsonDecoder) typeError(s *smithy.Schema, want string) error {
	name := "value"
	if s != nil && s.MemberName() != "" {
		name = s.MemberName()
	}
	return fmt.Errorf("%s: expected %s, got %T", name, want, d.cur)
}

func (d *jsonDecoder) object(s *smithy.Schema) error {
	obj, ok := d.cur.(map[string]any)
	if !ok {
		return d.typeError(s, "an object")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d.stack = append(d.stack, jsonFrame{schema: s, obj: obj, keys: keys})
	return nil
}

// nextMember advances to the next non-null member the schema knows.
func (d *jsonDecoder) nextMember() *smithy.Schema {
	f := d.top()
	for f.i < len(f.keys) {
		k := f.keys[f.i]
		f.i++
		if m := f.schema.Member(k); m != nil && f.obj[k] != nil {
			d.cur = f.obj[k]
			return m
		}
	}
	d.stack = d.stack[:len(d.stack)-1]
	return nil
}

func (d *jsonDecoder) ReadStruct(s *smithy.Schema) error { return d.object(s) }

func (d *jsonDecoder) ReadStructMember() (*smithy.Schema, error) { return d.nextMember(), nil }

func (d *jsonDecoder) ReadUnion(s *smithy.Schema) (*smithy.Schema, error) {
	if len(d.stack) == 0 || d.top().schema != s || d.top().obj == nil {
		if err := d.object(s); err != nil {
			return nil, err
		}
	}
	return d.nextMember(), nil
}

func (d *jsonDecoder) ReadList(s *smithy.Schema) error {
	arr, ok := d.cur.([]any)
	if !ok {
		return d.typeError(s, "an array")
	}
	d.stack = append(d.stack, jsonFrame{schema: s, arr: arr})
	return nil
}

func (d *jsonDecoder) ReadListItem(*smithy.Schema) (bool, error) {
	f := d.top()
	if f.i >= len(f.arr) {
		d.stack = d.stack[:len(d.stack)-1]
		return false, nil
	}
	d.cur = f.arr[f.i]
	f.i++
	return true, nil
}

func (d *jsonDecoder) ReadMap(s *smithy.Schema) error { return d.object(s) }

func (d *jsonDecoder) ReadMapKey(*smithy.Schema) (string, bool, error) {
	f := d.top()
	if f.i >= len(f.keys) {
		d.stack = d.stack[:len(d.stack)-1]
		return "", false, nil
	}
	k := f.keys[f.i]
	f.i++
	d.cur = f.obj[k]
	return k, true, nil
}

func (d *jsonDecoder) ReadNil(*smithy.Schema) (bool, error) { return d.cur == nil, nil }

func (d *jsonDecoder) ReadString(s *smithy.Schema, v *string) error {
	x, ok := d.cur.(string)
	if !ok {
		return d.typeError(s, "a string")
	}
	*v = x
	return nil
}

func (d *jsonDecoder) ReadBool(s *smithy.Schema, v *bool) error {
	x, ok := d.cur.(bool)
	if !ok {
		return d.typeError(s, "a boolean")
	}
	*v = x
	return nil
}

func (d *jsonDecoder) integer(s *smithy.Schema, bits int) (int64, error) {
	n, ok := d.cur.(json.Number)
	if !ok {
		return 0, d.typeError(s, "a number")
	}
	i, err := strconv.ParseInt(n.String(), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.MemberName(), err)
	}
	return i, nil
}

func (d *jsonDecoder) ReadInt8(s *smithy.Schema, v *int8) error {
	i, err := d.integer(s, 8)
	*v = int8(i)
	return err
}

func (d *jsonDecoder) ReadInt16(s *smithy.Schema, v *int16) error {
	i, err := d.integer(s, 16)
	*v = int16(i)
	return err
}

func (d *jsonDecoder) ReadInt32(s *smithy.Schema, v *int32) error {
	i, err := d.integer(s, 32)
	*v = int32(i)
	return err
}

func (d *jsonDecoder) ReadInt64(s *smithy.Schema, v *int64) error {
	i, err := d.integer(s, 64)
	*v = i
	return err
}

func (d *jsonDecoder) float(s *smithy.Schema) (float64, error) {
	switch x := d.cur.(type) {
	case json.Number:
		return strconv.ParseFloat(x.String(), 64)
	case string:
		// awsJson sends NaN and the infinities as strings.
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, d.typeError(s, "a number")
}

func (d *jsonDecoder) ReadFloat32(s *smithy.Schema, v *float32) error {
	f, err := d.float(s)
	*v = float32(f)
	return err
}

func (d *jsonDecoder) ReadFloat64(s *smithy.Schema, v *float64) error {
	f, err := d.float(s)
	*v = f
	return err
}

func (d *jsonDecoder) ReadBlob(s *smithy.Schema, v *[]byte) error {
	x, ok := d.cur.(string)
	if !ok {
		return d.typeError(s, "a base64 string")
	}
	b, err := base64.StdEncoding.DecodeString(x)
	if err != nil {
		return fmt.Errorf("%s: %w", s.MemberName(), err)
	}
	*v = b
	return nil
}

func (d *jsonDecoder) ReadTime(s *smithy.Schema, v *time.Time) error {
	f, err := d.float(s)
	if err != nil {
		return err
	}
	sec, frac := math.Modf(f)
	*v = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

func (d *jsonDecoder) ReadBigInt(s *smithy.Schema, _ *big.Int) error {
	return fmt.Errorf("%s: big integers are not simulated", s.MemberName())
}

func (d *jsonDecoder) ReadBigFloat(s *smithy.Schema, _ *big.Float) error {
	return fmt.Errorf("%s: big decimals are not simulated", s.MemberName())
}

func (d *jsonDecoder) ReadDocument(s *smithy.Schema, _ *document.Value) error {
	return fmt.Errorf("%s: documents are not simulated", s.MemberName())
}

// jsonEncoder is a smithy.ShapeSerializer that writes the awsJson answer the
// SDK's deserializer reads: the outermost structure is the body.
type jsonEncoder struct {
	buf   bytes.Buffer
	stack []jsonOut
}

type jsonOut struct {
	// named: members carry their name (structures, unions); keyed: a map,
	// whose next value follows a WriteKey.
	named, keyed bool
	n            int
}

func (e *jsonEncoder) Bytes() []byte { return e.buf.Bytes() }

// value starts a value: a comma after the previous one, and the member's
// name inside a structure.
func (e *jsonEncoder) value(s *smithy.Schema) {
	if len(e.stack) == 0 {
		return
	}
	f := &e.stack[len(e.stack)-1]
	if f.keyed {
		return // WriteKey wrote the separator and the key
	}
	if f.n > 0 {
		e.buf.WriteByte(',')
	}
	f.n++
	if f.named {
		e.str(s.MemberName())
		e.buf.WriteByte(':')
	}
}

func (e *jsonEncoder) str(v string) {
	b, _ := json.Marshal(v)
	e.buf.Write(b)
}

func (e *jsonEncoder) open(s *smithy.Schema, c byte, f jsonOut) {
	e.value(s)
	e.buf.WriteByte(c)
	e.stack = append(e.stack, f)
}

func (e *jsonEncoder) close(c byte) {
	e.stack = e.stack[:len(e.stack)-1]
	e.buf.WriteByte(c)
}

func (e *jsonEncoder) WriteStruct(s *smithy.Schema) { e.open(s, '{', jsonOut{named: true}) }
func (e *jsonEncoder) CloseStruct()                 { e.close('}') }
func (e *jsonEncoder) WriteUnion(s, _ *smithy.Schema) {
	e.open(s, '{', jsonOut{named: true})
}
func (e *jsonEncoder) CloseUnion()                { e.close('}') }
func (e *jsonEncoder) WriteList(s *smithy.Schema) { e.open(s, '[', jsonOut{}) }
func (e *jsonEncoder) CloseList()                 { e.close(']') }
func (e *jsonEncoder) WriteMap(s *smithy.Schema)  { e.open(s, '{', jsonOut{keyed: true}) }
func (e *jsonEncoder) CloseMap()                  { e.close('}') }

func (e *jsonEncoder) WriteKey(_ *smithy.Schema, k string) {
	f := &e.stack[len(e.stack)-1]
	if f.n > 0 {
		e.buf.WriteByte(',')
	}
	f.n++
	e.str(k)
	e.buf.WriteByte(':')
}

func (e *jsonEncoder) WriteString(s *smithy.Schema, v string) { e.value(s); e.str(v) }
func (e *jsonEncoder) WriteBool(s *smithy.Schema, v bool) {
	e.value(s)
	e.buf.WriteString(strconv.FormatBool(v))
}
func (e *jsonEncoder) WriteInt8(s *smithy.Schema, v int8)   { e.WriteInt64(s, int64(v)) }
func (e *jsonEncoder) WriteInt16(s *smithy.Schema, v int16) { e.WriteInt64(s, int64(v)) }
func (e *jsonEncoder) WriteInt32(s *smithy.Schema, v int32) { e.WriteInt64(s, int64(v)) }
func (e *jsonEncoder) WriteInt64(s *smithy.Schema, v int64) {
	e.value(s)
	e.buf.WriteString(strconv.FormatInt(v, 10))
}
func (e *jsonEncoder) WriteFloat32(s *smithy.Schema, v float32) { e.float(s, float64(v), 32) }
func (e *jsonEncoder) WriteFloat64(s *smithy.Schema, v float64) { e.float(s, v, 64) }

func (e *jsonEncoder) float(s *smithy.Schema, v float64, bits int) {
	e.value(s)
	switch {
	case math.IsNaN(v):
		e.str("NaN")
	case math.IsInf(v, 1):
		e.str("Infinity")
	case math.IsInf(v, -1):
		e.str("-Infinity")
	default:
		e.buf.WriteString(strconv.FormatFloat(v, 'g', -1, bits))
	}
}

func (e *jsonEncoder) WriteBlob(s *smithy.Schema, v []byte) {
	e.value(s)
	e.str(base64.StdEncoding.EncodeToString(v))
}

func (e *jsonEncoder) WriteTime(s *smithy.Schema, v time.Time) {
	e.value(s)
	e.buf.WriteString(strconv.FormatFloat(float64(v.UnixNano())/1e9, 'f', -1, 64))
}

func (e *jsonEncoder) WriteNil(s *smithy.Schema) { e.value(s); e.buf.WriteString("null") }
func (e *jsonEncoder) WriteBigInt(s *smithy.Schema, v *big.Int) {
	e.value(s)
	e.buf.WriteString(v.String())
}
func (e *jsonEncoder) WriteBigFloat(s *smithy.Schema, v *big.Float) {
	e.value(s)
	e.buf.WriteString(v.Text('g', -1))
}
func (e *jsonEncoder) WriteDocument(s *smithy.Schema, _ document.Value) {
	e.WriteNil(s) // no simulated operation answers with a document
}
