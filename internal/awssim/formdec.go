package awssim

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	smithytime "github.com/aws/smithy-go/time"
	"github.com/aws/smithy-go/traits"
)

// formDecoder is a smithy.ShapeDeserializer over a query-protocol request
// body (Foo.member.1, Filter.1.Value.1, Attributes.entry.1.key, ...): the
// server-side mirror of the SDK's awsQuery and ec2Query request serializers.
type formDecoder struct {
	form url.Values
	// ec2 selects the ec2Query rules: keys from ec2QueryName and every list
	// flattened.
	ec2 bool
	// prefixes holds every key of the form and every dotted prefix of one,
	// so presence checks do not scan the form.
	prefixes map[string]bool
	stack    []formFrame
	cur      string // key of the value the next Read* call consumes
}

type formFrame struct {
	kind    smithy.ShapeType // structure, union, list or map
	prefix  string
	pending []*smithy.Schema // struct and union members still to visit
	index   int
	// map entry key and value names
	key, value string
}

func newFormDecoder(form url.Values, ec2 bool) *formDecoder {
	d := &formDecoder{form: form, ec2: ec2, prefixes: map[string]bool{}}
	for k := range form {
		for p := k; ; {
			d.prefixes[p] = true
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	return d
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// memberKey is the form key of a structure member.
func (d *formDecoder) memberKey(m *smithy.Schema) string {
	if d.ec2 {
		if t, ok := smithy.SchemaDirectTrait[*traits.EC2QueryName](m); ok {
			return t.Name
		}
		if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](m); ok {
			return upperFirst(t.Name)
		}
		return upperFirst(m.MemberName())
	}
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](m); ok {
		return t.Name
	}
	return m.MemberName()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (d *formDecoder) flattened(s *smithy.Schema) bool {
	if d.ec2 {
		return true
	}
	_, ok := smithy.SchemaTrait[*traits.XMLFlattened](s)
	return ok
}

func (d *formDecoder) top(kind ...smithy.ShapeType) (*formFrame, error) {
	if len(d.stack) == 0 {
		return nil, fmt.Errorf("form decoder: no open aggregate")
	}
	f := &d.stack[len(d.stack)-1]
	for _, k := range kind {
		if f.kind == k {
			return f, nil
		}
	}
	return nil, fmt.Errorf("form decoder: open aggregate is %v", f.kind)
}

func (d *formDecoder) pop() { d.stack = d.stack[:len(d.stack)-1] }

func (d *formDecoder) value() string { return d.form.Get(d.cur) }

func (d *formDecoder) ReadStruct(s *smithy.Schema) error {
	d.stack = append(d.stack, formFrame{kind: smithy.ShapeTypeStructure, prefix: d.cur, pending: d.present(s)})
	return nil
}

// present lists the members of s that have a key in the form, sorted by
// name so decoding is deterministic.
func (d *formDecoder) present(s *smithy.Schema) []*smithy.Schema {
	var out []*smithy.Schema
	for _, m := range s.Members() {
		if d.prefixes[join(d.cur, d.memberKey(m))] {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MemberName() < out[j].MemberName() })
	return out
}

func (d *formDecoder) ReadStructMember() (*smithy.Schema, error) {
	f, err := d.top(smithy.ShapeTypeStructure)
	if err != nil {
		return nil, err
	}
	if len(f.pending) == 0 {
		d.cur = f.prefix
		d.pop()
		return nil, nil
	}
	m := f.pending[0]
	f.pending = f.pending[1:]
	d.cur = join(f.prefix, d.memberKey(m))
	return m, nil
}

func (d *formDecoder) ReadUnion(s *smithy.Schema) (*smithy.Schema, error) {
	if len(d.stack) == 0 || d.stack[len(d.stack)-1].kind != smithy.ShapeTypeUnion || d.stack[len(d.stack)-1].prefix != d.cur {
		d.stack = append(d.stack, formFrame{kind: smithy.ShapeTypeUnion, prefix: d.cur, pending: d.present(s)})
	}
	f := &d.stack[len(d.stack)-1]
	if len(f.pending) == 0 {
		d.cur = f.prefix
		d.pop()
		return nil, nil
	}
	m := f.pending[0]
	f.pending = f.pending[1:]
	d.cur = join(f.prefix, d.memberKey(m))
	return m, nil
}

func (d *formDecoder) ReadList(s *smithy.Schema) error {
	prefix := d.cur
	if !d.flattened(s) {
		name := "member"
		if m := s.ListMember(); m != nil {
			if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](m); ok {
				name = t.Name
			}
		}
		prefix = join(prefix, name)
	}
	d.stack = append(d.stack, formFrame{kind: smithy.ShapeTypeList, prefix: prefix})
	return nil
}

func (d *formDecoder) ReadListItem(*smithy.Schema) (bool, error) {
	f, err := d.top(smithy.ShapeTypeList)
	if err != nil {
		return false, err
	}
	f.index++
	key := join(f.prefix, strconv.Itoa(f.index))
	if !d.prefixes[key] {
		d.pop()
		return false, nil
	}
	d.cur = key
	return true, nil
}

func (d *formDecoder) ReadMap(s *smithy.Schema) error {
	prefix := d.cur
	if !d.flattened(s) {
		prefix = join(prefix, "entry")
	}
	f := formFrame{kind: smithy.ShapeTypeMap, prefix: prefix, key: "key", value: "value"}
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](s.MapKey()); ok {
		f.key = t.Name
	}
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](s.MapValue()); ok {
		f.value = t.Name
	}
	d.stack = append(d.stack, f)
	return nil
}

func (d *formDecoder) ReadMapKey(*smithy.Schema) (string, bool, error) {
	f, err := d.top(smithy.ShapeTypeMap)
	if err != nil {
		return "", false, err
	}
	f.index++
	entry := join(f.prefix, strconv.Itoa(f.index))
	keyKey := join(entry, f.key)
	if _, ok := d.form[keyKey]; !ok {
		d.pop()
		return "", false, nil
	}
	d.cur = join(entry, f.value)
	return d.form.Get(keyKey), true, nil
}

// A form carries no nulls: absent members are simply not visited.
func (d *formDecoder) ReadNil(*smithy.Schema) (bool, error) { return false, nil }

func (d *formDecoder) ReadString(_ *smithy.Schema, v *string) error {
	*v = d.value()
	return nil
}

func (d *formDecoder) ReadBool(_ *smithy.Schema, v *bool) error {
	b, err := strconv.ParseBool(d.value())
	if err != nil {
		return d.invalid("boolean")
	}
	*v = b
	return nil
}

func (d *formDecoder) readInt(bits int) (int64, error) {
	n, err := strconv.ParseInt(d.value(), 10, bits)
	if err != nil {
		return 0, d.invalid("integer")
	}
	return n, nil
}

func (d *formDecoder) ReadInt8(_ *smithy.Schema, v *int8) error {
	n, err := d.readInt(8)
	*v = int8(n)
	return err
}

func (d *formDecoder) ReadInt16(_ *smithy.Schema, v *int16) error {
	n, err := d.readInt(16)
	*v = int16(n)
	return err
}

func (d *formDecoder) ReadInt32(_ *smithy.Schema, v *int32) error {
	n, err := d.readInt(32)
	*v = int32(n)
	return err
}

func (d *formDecoder) ReadInt64(_ *smithy.Schema, v *int64) error {
	n, err := d.readInt(64)
	*v = n
	return err
}

func (d *formDecoder) readFloat(bits int) (float64, error) {
	f, err := strconv.ParseFloat(d.value(), bits)
	if err != nil {
		return 0, d.invalid("number")
	}
	return f, nil
}

func (d *formDecoder) ReadFloat32(_ *smithy.Schema, v *float32) error {
	f, err := d.readFloat(32)
	*v = float32(f)
	return err
}

func (d *formDecoder) ReadFloat64(_ *smithy.Schema, v *float64) error {
	f, err := d.readFloat(64)
	*v = f
	return err
}

func (d *formDecoder) ReadBigInt(_ *smithy.Schema, v *big.Int) error {
	if _, ok := v.SetString(d.value(), 10); !ok {
		return d.invalid("integer")
	}
	return nil
}

func (d *formDecoder) ReadBigFloat(_ *smithy.Schema, v *big.Float) error {
	if _, ok := v.SetString(d.value()); !ok {
		return d.invalid("number")
	}
	return nil
}

func (d *formDecoder) ReadBlob(_ *smithy.Schema, v *[]byte) error {
	b, err := base64.StdEncoding.DecodeString(d.value())
	if err != nil {
		return d.invalid("base64 blob")
	}
	*v = b
	return nil
}

func (d *formDecoder) ReadTime(s *smithy.Schema, v *time.Time) error {
	t, err := parseTime(timeFormatOf(s), d.value())
	if err != nil {
		return d.invalid("timestamp")
	}
	*v = t
	return nil
}

func (d *formDecoder) ReadDocument(*smithy.Schema, *document.Value) error {
	return fmt.Errorf("%s: documents are not supported by query protocols", d.cur)
}

// invalid reports a malformed parameter the way the services do.
func (d *formDecoder) invalid(what string) error {
	msg := fmt.Sprintf("Invalid %s value %q for parameter %s", what, d.value(), d.cur)
	return &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: msg, Fault: smithy.FaultClient}
}

func timeFormatOf(s *smithy.Schema) string {
	if t, ok := smithy.SchemaTrait[*traits.TimestampFormat](s); ok {
		return t.Format
	}
	return "date-time"
}

func parseTime(format, v string) (time.Time, error) {
	switch format {
	case "epoch-seconds":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return time.Time{}, err
		}
		return smithytime.ParseEpochSeconds(f), nil
	case "http-date":
		return smithytime.ParseHTTPDate(v)
	default:
		return smithytime.ParseDateTime(v)
	}
}

func formatTime(format string, t time.Time) string {
	switch format {
	case "epoch-seconds":
		return strconv.FormatFloat(smithytime.FormatEpochSeconds(t), 'f', -1, 64)
	case "http-date":
		return smithytime.FormatHTTPDate(t)
	default:
		return smithytime.FormatDateTime(t)
	}
}
