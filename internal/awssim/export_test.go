package awssim

import "reflect"

// EC2WireFields exposes the generated table to the black-box tests: the
// fields of t the EC2 query serializer sends and the ones its deserializer
// reads.
func EC2WireFields(t reflect.Type) (query, xml map[string]bool, ok bool) {
	for _, s := range ec2Shapes {
		if s.Type != t {
			continue
		}
		query, xml = map[string]bool{}, map[string]bool{}
		for _, m := range s.Members {
			if m.Query != "" {
				query[m.Field] = true
			}
			if m.XML != "" {
				xml[m.Field] = true
			}
		}
		return query, xml, true
	}
	return nil, nil, false
}

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

func reflectValueOf(v any) reflect.Value { return reflect.ValueOf(v) }
