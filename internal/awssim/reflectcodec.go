package awssim

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/aws/smithy-go/prelude"
	"github.com/aws/smithy-go/traits"
)

// reflectCodec walks SDK structs by reflection and feeds them to the
// schema-driven wire codecs, for the directions the SDK does not cover
// itself: the client only serializes inputs and only deserializes outputs,
// and EC2's package has no schemas at all in this SDK release. Each Go
// struct type is paired with a smithy.Schema: EC2's are built from the
// generated wire table (member names are Go field names), the others are
// the SDK's own, matched to Go fields by name.
type reflectCodec struct {
	// mu guards the tables: services are bound, and register their types,
	// while requests for other accounts are being decoded (awssim.WithDirectory).
	mu     sync.RWMutex
	shapes map[reflect.Type]*reflectShape
	// unions maps an SDK union interface to a constructor per member
	// schema; each member type deserializes itself.
	unions map[reflect.Type]map[*smithy.Schema]func() smithy.Deserializable
}

type reflectShape struct {
	schema *smithy.Schema
	fields []reflectField // in Go declaration order, for stable output
}

type reflectField struct {
	index  int
	schema *smithy.Schema
	// output is false for fields the SDK never reads from a response.
	output bool
}

var timeType = reflect.TypeFor[time.Time]()

func newReflectCodec() *reflectCodec {
	return &reflectCodec{shapes: map[reflect.Type]*reflectShape{}, unions: map[reflect.Type]map[*smithy.Schema]func() smithy.Deserializable{}}
}

// addUnion registers the members of an SDK union (an interface type).
func (c *reflectCodec) addUnion(t reflect.Type, members map[*smithy.Schema]func() smithy.Deserializable) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unions[t] = members
}

// addTable builds schemas for the shapes of a generated wire table.
func (c *reflectCodec) addTable(namespace string, table []wireShape) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Every structure schema exists before any member points at it, so
	// shapes can refer to each other in any order.
	for _, ws := range table {
		c.shapes[ws.Type] = &reflectShape{
			schema: smithy.NewSchema(smithy.ShapeID{Namespace: namespace, Name: ws.Type.Name()}, smithy.ShapeTypeStructure, len(ws.Members)),
		}
	}
	for _, ws := range table {
		rs := c.shapes[ws.Type]
		for _, m := range ws.Members {
			sf, ok := ws.Type.FieldByName(m.Field)
			if !ok || len(sf.Index) != 1 {
				return fmt.Errorf("%s has no field %s: regenerate the wire table", ws.Type, m.Field)
			}
			target, err := c.target(namespace, ws.Type.Name()+"$"+m.Field, sf.Type, m)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", ws.Type, m.Field, err)
			}
			var ts []smithy.Trait
			if m.Query != "" {
				ts = append(ts, &traits.EC2QueryName{Name: m.Query})
			}
			if m.XML != "" {
				ts = append(ts, &traits.XMLName{Name: m.XML})
			}
			if m.Flat {
				ts = append(ts, &traits.XMLFlattened{})
			}
			if m.Time != "" {
				ts = append(ts, &traits.TimestampFormat{Format: m.Time})
			}
			rs.fields = append(rs.fields, reflectField{
				index:  sf.Index[0],
				schema: rs.schema.AddMember(m.Field, target, ts...),
				output: m.XML != "",
			})
		}
		sortFields(rs.fields)
	}
	return nil
}

// addSDK pairs Go type t with the SDK's schema s, and recursively the
// types of its members; a member maps to the field of the same name.
func (c *reflectCodec) addSDK(t reflect.Type, s *smithy.Schema) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addSDKLocked(t, s)
}

func (c *reflectCodec) addSDKLocked(t reflect.Type, s *smithy.Schema) error {
	if _, ok := c.shapes[t]; ok {
		return nil
	}
	rs := &reflectShape{schema: s}
	c.shapes[t] = rs
	for name, m := range s.Members() {
		sf, ok := fieldFold(t, name)
		if !ok {
			return fmt.Errorf("%s has no field for member %s", t, name)
		}
		rs.fields = append(rs.fields, reflectField{index: sf.Index[0], schema: m, output: true})
		if err := c.addSDKTarget(sf.Type, m); err != nil {
			return fmt.Errorf("%s.%s: %w", t, sf.Name, err)
		}
	}
	sortFields(rs.fields)
	return nil
}

func (c *reflectCodec) addSDKTarget(t reflect.Type, m *smithy.Schema) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return nil
	case t.Kind() == reflect.Struct:
		return c.addSDKLocked(t, m)
	case t.Kind() == reflect.Interface:
		if _, ok := c.unions[t]; ok {
			return nil
		}
		return fmt.Errorf("union %s is not registered", t)
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		return c.addSDKTarget(t.Elem(), m.ListMember())
	case t.Kind() == reflect.Map:
		return c.addSDKTarget(t.Elem(), m.MapValue())
	}
	return nil
}

func fieldFold(t reflect.Type, name string) (reflect.StructField, bool) {
	if sf, ok := t.FieldByName(name); ok && len(sf.Index) == 1 {
		return sf, true
	}
	for i := range t.NumField() {
		if sf := t.Field(i); sf.IsExported() && strings.EqualFold(sf.Name, name) {
			return sf, true
		}
	}
	return reflect.StructField{}, false
}

func sortFields(fs []reflectField) {
	slices.SortFunc(fs, func(a, b reflectField) int { return a.index - b.index })
}

// target returns the schema a field of Go type t points at.
func (c *reflectCodec) target(namespace, name string, t reflect.Type, m wireMember) (*smithy.Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return prelude.Timestamp, nil
	case t.Kind() == reflect.Struct:
		rs, ok := c.shapes[t]
		if !ok {
			return nil, fmt.Errorf("no wire table entry for %s", t)
		}
		return rs.schema, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return prelude.Blob, nil
	case t.Kind() == reflect.Slice:
		item, err := c.target(namespace, name+"$member", t.Elem(), wireMember{})
		if err != nil {
			return nil, err
		}
		list := smithy.NewSchema(smithy.ShapeID{Namespace: namespace, Name: name}, smithy.ShapeTypeList, 1)
		itemName := m.Item
		if itemName == "" {
			itemName = "item"
		}
		list.AddMember("member", item, &traits.XMLName{Name: itemName})
		return list, nil
	}
	switch t.Kind() {
	case reflect.String:
		return prelude.String, nil
	case reflect.Bool:
		return prelude.Boolean, nil
	case reflect.Int8:
		return prelude.Byte, nil
	case reflect.Int16:
		return prelude.Short, nil
	case reflect.Int32:
		return prelude.Integer, nil
	case reflect.Int64, reflect.Int:
		return prelude.Long, nil
	case reflect.Float32:
		return prelude.Float, nil
	case reflect.Float64:
		return prelude.Double, nil
	}
	return nil, fmt.Errorf("unsupported Go type %s", t)
}

// decode fills *in (a pointer to a struct in the table) from d.
func (c *reflectCodec) decode(d smithy.ShapeDeserializer, in any) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v := reflect.ValueOf(in).Elem()
	rs, ok := c.shapes[v.Type()]
	if !ok {
		return fmt.Errorf("no wire table entry for %s", v.Type())
	}
	return c.read(d, rs.schema, v)
}

func (c *reflectCodec) read(d smithy.ShapeDeserializer, s *smithy.Schema, v reflect.Value) error {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if err := c.read(d, s, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch {
	case t.Kind() == reflect.Interface:
		members, ok := c.unions[t]
		if !ok {
			return fmt.Errorf("union %s is not registered", t)
		}
		return smithy.ReadUnion(d, s, func(ms *smithy.Schema) error {
			newMember, ok := members[ms]
			if !ok {
				return fmt.Errorf("%s: unknown union member %s", t, ms.MemberName())
			}
			m := newMember()
			if err := m.Deserialize(d); err != nil {
				return err
			}
			v.Set(reflect.ValueOf(m))
			return nil
		})
	case t == timeType:
		var tm time.Time
		if err := d.ReadTime(s, &tm); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(tm))
		return nil
	case t.Kind() == reflect.Struct:
		rs := c.shapes[t]
		return smithy.ReadStruct(d, s, func(m *smithy.Schema) error {
			for _, f := range rs.fields {
				if f.schema == m {
					return c.read(d, m, v.Field(f.index))
				}
			}
			return nil
		})
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		var b []byte
		if err := d.ReadBlob(s, &b); err != nil {
			return err
		}
		v.SetBytes(b)
		return nil
	case t.Kind() == reflect.Map:
		m := reflect.MakeMap(t)
		err := smithy.ReadMap(d, s, func(k string) error {
			val := reflect.New(t.Elem()).Elem()
			if err := c.read(d, s.MapValue(), val); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), val)
			return nil
		})
		v.Set(m)
		return err
	case t.Kind() == reflect.Slice:
		list := reflect.MakeSlice(t, 0, 0)
		err := smithy.ReadList(d, s, func() error {
			item := reflect.New(t.Elem()).Elem()
			if err := c.read(d, s.ListMember(), item); err != nil {
				return err
			}
			list = reflect.Append(list, item)
			return nil
		})
		v.Set(list)
		return err
	}
	switch t.Kind() {
	case reflect.String:
		var x string
		err := d.ReadString(s, &x)
		v.SetString(x)
		return err
	case reflect.Bool:
		var x bool
		err := d.ReadBool(s, &x)
		v.SetBool(x)
		return err
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		var x int64
		err := d.ReadInt64(s, &x)
		v.SetInt(x)
		return err
	case reflect.Float32, reflect.Float64:
		var x float64
		err := d.ReadFloat64(s, &x)
		v.SetFloat(x)
		return err
	}
	return fmt.Errorf("unsupported Go type %s", t)
}

// encode writes out (a pointer to a struct in the table) to s.
func (c *reflectCodec) encode(s smithy.ShapeSerializer, out any) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v := reflect.ValueOf(out)
	if v.IsNil() {
		return nil
	}
	v = v.Elem()
	rs, ok := c.shapes[v.Type()]
	if !ok {
		return fmt.Errorf("no wire table entry for %s", v.Type())
	}
	c.write(s, rs.schema, v)
	return nil
}

func (c *reflectCodec) write(s smithy.ShapeSerializer, sch *smithy.Schema, v reflect.Value) {
	t := v.Type()
	switch {
	case t == timeType:
		s.WriteTime(sch, v.Interface().(time.Time))
	case t.Kind() == reflect.Struct:
		s.WriteStruct(sch)
		for _, f := range c.shapes[t].fields {
			fv := v.Field(f.index)
			if !f.output || fv.IsZero() {
				continue
			}
			for fv.Kind() == reflect.Pointer {
				fv = fv.Elem()
			}
			c.write(s, f.schema, fv)
		}
		s.CloseStruct()
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		s.WriteBlob(sch, v.Bytes())
	case t.Kind() == reflect.Map:
		s.WriteMap(sch)
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			s.WriteKey(sch.MapKey(), k.String())
			item := v.MapIndex(k)
			for item.Kind() == reflect.Pointer && !item.IsNil() {
				item = item.Elem()
			}
			c.write(s, sch.MapValue(), item)
		}
		s.CloseMap()
	case t.Kind() == reflect.Slice:
		s.WriteList(sch)
		for i := range v.Len() {
			item := v.Index(i)
			for item.Kind() == reflect.Pointer && !item.IsNil() {
				item = item.Elem()
			}
			c.write(s, sch.ListMember(), item)
		}
		s.CloseList()
	default:
		switch t.Kind() {
		case reflect.String:
			s.WriteString(sch, v.String())
		case reflect.Bool:
			s.WriteBool(sch, v.Bool())
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
			s.WriteInt64(sch, v.Int())
		case reflect.Float32:
			s.WriteFloat32(sch, float32(v.Float()))
		case reflect.Float64:
			s.WriteFloat64(sch, v.Float())
		}
	}
}

// schemaOf returns the schema an SDK struct serializes itself with: the
// SDK names it only inside Serialize.
func schemaOf(v smithy.Serializable) *smithy.Schema {
	var r rootRecorder
	v.Serialize(&r)
	return r.root
}

// rootRecorder is a ShapeSerializer that keeps the first structure schema
// and discards everything else.
type rootRecorder struct{ root *smithy.Schema }

func (r *rootRecorder) WriteStruct(s *smithy.Schema) {
	if r.root == nil {
		r.root = s
	}
}
func (*rootRecorder) Bytes() []byte                                { return nil }
func (*rootRecorder) WriteInt8(*smithy.Schema, int8)               {}
func (*rootRecorder) WriteInt16(*smithy.Schema, int16)             {}
func (*rootRecorder) WriteInt32(*smithy.Schema, int32)             {}
func (*rootRecorder) WriteInt64(*smithy.Schema, int64)             {}
func (*rootRecorder) WriteFloat32(*smithy.Schema, float32)         {}
func (*rootRecorder) WriteFloat64(*smithy.Schema, float64)         {}
func (*rootRecorder) WriteBool(*smithy.Schema, bool)               {}
func (*rootRecorder) WriteString(*smithy.Schema, string)           {}
func (*rootRecorder) WriteBigInt(*smithy.Schema, *big.Int)         {}
func (*rootRecorder) WriteBigFloat(*smithy.Schema, *big.Float)     {}
func (*rootRecorder) WriteBlob(*smithy.Schema, []byte)             {}
func (*rootRecorder) WriteTime(*smithy.Schema, time.Time)          {}
func (*rootRecorder) WriteUnion(_, _ *smithy.Schema)               {}
func (*rootRecorder) CloseUnion()                                  {}
func (*rootRecorder) WriteDocument(*smithy.Schema, document.Value) {}
func (*rootRecorder) WriteNil(*smithy.Schema)                      {}
func (*rootRecorder) CloseStruct()                                 {}
func (*rootRecorder) WriteList(*smithy.Schema)                     {}
func (*rootRecorder) CloseList()                                   {}
func (*rootRecorder) WriteMap(*smithy.Schema)                      {}
func (*rootRecorder) WriteKey(*smithy.Schema, string)              {}
func (*rootRecorder) CloseMap()                                    {}
