package awssim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"math"
	"math/big"
	"strconv"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/aws/smithy-go/traits"
)

// xmlEncoder is a smithy.ShapeSerializer that writes a shape as the XML the
// query protocols answer with: members as elements named by xmlName or the
// member name, wrapped lists (<member> or, on EC2, <item>) unless flattened,
// maps as <entry><key/><value/></entry>. The outermost structure writes only
// its members: the caller wraps them in the response envelope.
type xmlEncoder struct {
	buf   bytes.Buffer
	stack []xmlFrame
}

type xmlFrame struct {
	kind smithy.ShapeType
	// close is the element written when the frame ends ("" for none).
	close string
	// item names list items (wrapped: the member name, flattened: the
	// list's own element name).
	item string
	// map entries: wrapper element (entry, or the map's name when
	// flattened), key and value element names, and whether an entry is open.
	entry, key, value string
	inEntry           bool
}

func (e *xmlEncoder) Bytes() []byte { return e.buf.Bytes() }

// name is the element name for a value written with schema s in the current
// context.
func (e *xmlEncoder) name(s *smithy.Schema) string {
	if len(e.stack) == 0 {
		return ""
	}
	f := &e.stack[len(e.stack)-1]
	switch f.kind {
	case smithy.ShapeTypeList:
		return f.item
	case smithy.ShapeTypeMap:
		return f.value
	}
	return elementName(s)
}

// elementName is a structure member's element name.
func elementName(s *smithy.Schema) string {
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](s); ok {
		return t.Name
	}
	return s.MemberName()
}

func flattened(s *smithy.Schema) bool {
	_, ok := smithy.SchemaTrait[*traits.XMLFlattened](s)
	return ok
}

func (e *xmlEncoder) open(name string) {
	e.buf.WriteByte('<')
	e.buf.WriteString(name)
	e.buf.WriteByte('>')
}

func (e *xmlEncoder) closeTag(name string) {
	e.buf.WriteString("</")
	e.buf.WriteString(name)
	e.buf.WriteByte('>')
}

// scalar writes one text element and ends a map entry if it was its value.
func (e *xmlEncoder) scalar(s *smithy.Schema, text string) {
	name := e.name(s)
	if name == "" {
		return
	}
	e.open(name)
	_ = xml.EscapeText(&e.buf, []byte(text))
	e.closeTag(name)
	e.valueDone()
}

// valueDone closes the current map entry once its value is written.
func (e *xmlEncoder) valueDone() {
	if len(e.stack) == 0 {
		return
	}
	f := &e.stack[len(e.stack)-1]
	if f.kind == smithy.ShapeTypeMap && f.inEntry {
		e.closeTag(f.entry)
		f.inEntry = false
	}
}

func (e *xmlEncoder) push(f xmlFrame) {
	if f.close != "" {
		e.open(f.close)
	}
	e.stack = append(e.stack, f)
}

func (e *xmlEncoder) end() {
	if len(e.stack) == 0 {
		return
	}
	f := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	if f.close != "" {
		e.closeTag(f.close)
	}
	e.valueDone()
}

func (e *xmlEncoder) WriteStruct(s *smithy.Schema) {
	e.push(xmlFrame{kind: smithy.ShapeTypeStructure, close: e.name(s)})
}

func (e *xmlEncoder) CloseStruct() { e.end() }

func (e *xmlEncoder) WriteUnion(s, variant *smithy.Schema) {
	e.push(xmlFrame{kind: smithy.ShapeTypeUnion, close: e.name(s)})
}

func (e *xmlEncoder) CloseUnion() { e.end() }

func (e *xmlEncoder) WriteList(s *smithy.Schema) {
	name := e.name(s)
	if flattened(s) {
		// Items repeat the list's own element name, with no wrapper.
		e.stack = append(e.stack, xmlFrame{kind: smithy.ShapeTypeList, item: name})
		return
	}
	item := "member"
	if m := s.ListMember(); m != nil {
		if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](m); ok {
			item = t.Name
		}
	}
	e.push(xmlFrame{kind: smithy.ShapeTypeList, close: name, item: item})
}

func (e *xmlEncoder) CloseList() { e.end() }

func (e *xmlEncoder) WriteMap(s *smithy.Schema) {
	f := xmlFrame{kind: smithy.ShapeTypeMap, entry: "entry", key: "key", value: "value"}
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](s.MapKey()); ok {
		f.key = t.Name
	}
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](s.MapValue()); ok {
		f.value = t.Name
	}
	if flattened(s) {
		f.entry = e.name(s)
	} else {
		f.close = e.name(s)
	}
	e.push(f)
}

func (e *xmlEncoder) WriteKey(_ *smithy.Schema, key string) {
	f := &e.stack[len(e.stack)-1]
	e.open(f.entry)
	f.inEntry = true
	e.open(f.key)
	_ = xml.EscapeText(&e.buf, []byte(key))
	e.closeTag(f.key)
}

func (e *xmlEncoder) CloseMap() { e.end() }

func (e *xmlEncoder) WriteString(s *smithy.Schema, v string) { e.scalar(s, v) }
func (e *xmlEncoder) WriteBool(s *smithy.Schema, v bool)     { e.scalar(s, strconv.FormatBool(v)) }
func (e *xmlEncoder) WriteInt8(s *smithy.Schema, v int8) {
	e.scalar(s, strconv.FormatInt(int64(v), 10))
}
func (e *xmlEncoder) WriteInt16(s *smithy.Schema, v int16) {
	e.scalar(s, strconv.FormatInt(int64(v), 10))
}
func (e *xmlEncoder) WriteInt32(s *smithy.Schema, v int32) {
	e.scalar(s, strconv.FormatInt(int64(v), 10))
}
func (e *xmlEncoder) WriteInt64(s *smithy.Schema, v int64) { e.scalar(s, strconv.FormatInt(v, 10)) }
func (e *xmlEncoder) WriteFloat32(s *smithy.Schema, v float32) {
	e.scalar(s, formatFloat(float64(v), 32))
}
func (e *xmlEncoder) WriteFloat64(s *smithy.Schema, v float64) { e.scalar(s, formatFloat(v, 64)) }
func (e *xmlEncoder) WriteBigInt(s *smithy.Schema, v *big.Int) { e.scalar(s, v.String()) }
func (e *xmlEncoder) WriteBigFloat(s *smithy.Schema, v *big.Float) {
	e.scalar(s, v.Text('g', -1))
}
func (e *xmlEncoder) WriteBlob(s *smithy.Schema, v []byte) {
	e.scalar(s, base64.StdEncoding.EncodeToString(v))
}
func (e *xmlEncoder) WriteTime(s *smithy.Schema, v time.Time) {
	e.scalar(s, formatTime(timeFormatOf(s), v))
}

// Query protocols have no null and no documents: nothing to write.
func (e *xmlEncoder) WriteNil(*smithy.Schema)                      {}
func (e *xmlEncoder) WriteDocument(*smithy.Schema, document.Value) {}

func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(v, 'f', -1, bits)
}
