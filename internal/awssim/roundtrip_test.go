package awssim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// filler sets every wire-visible field of an SDK struct to a distinct value,
// so a round trip proves each member's wire name in both directions.
type filler struct {
	n int
	// fields returns the fields of a struct type that go on the wire in
	// this direction, or nil for all exported fields.
	fields func(reflect.Type) map[string]bool
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func (f *filler) fill(v reflect.Value, depth int) {
	f.n++
	t := v.Type()
	switch {
	case t == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(epoch.Add(time.Duration(f.n) * time.Second)))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if depth > 8 {
			return
		}
		p := reflect.New(t.Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		want := f.fields(t)
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Name == "ResultMetadata" || (want != nil && !want[sf.Name]) {
				continue
			}
			f.fill(v.Field(i), depth+1)
		}
	case reflect.Slice:
		if depth > 8 {
			return
		}
		if t.Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(fmt.Sprintf("blob-%d", f.n)))
			return
		}
		s := reflect.MakeSlice(t, 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(t)
		for range 2 {
			k := reflect.New(t.Key()).Elem()
			f.fill(k, depth+1)
			val := reflect.New(t.Elem()).Elem()
			f.fill(val, depth+1)
			m.SetMapIndex(k, val)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", f.n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n) + 0.5)
	}
}

// ec2Fields limits EC2 structs to what the SDK's serializer sends (input)
// or its deserializer reads (output); schema-based services send all.
func ec2Fields(output bool) func(reflect.Type) map[string]bool {
	return func(t reflect.Type) map[string]bool {
		q, x, ok := awssim.EC2WireFields(t)
		if !ok {
			return nil
		}
		if output {
			return x
		}
		return q
	}
}

func allFields(reflect.Type) map[string]bool { return nil }

// TestRoundTripEveryOperation sends a fully populated input through a real
// SDK client and checks that the simulator decoded exactly it, then that
// the SDK decoded exactly the output the backend returned.
func TestRoundTripEveryOperation(t *testing.T) {
	e := newEcho()
	sim := startSim(t, e.backend())
	cfg := sdkConfig(t, sim, 1)

	services := []struct {
		name   string
		api    reflect.Type
		client any
		ec2    bool
	}{
		{"ec2", reflect.TypeFor[awsapi.EC2](), ec2.NewFromConfig(cfg), true},
		{"autoscaling", reflect.TypeFor[awsapi.AutoScaling](), autoscaling.NewFromConfig(cfg), false},
		{"elasticloadbalancing", reflect.TypeFor[awsapi.ELB](), elb.NewFromConfig(cfg), false},
		{"elasticloadbalancingv2", reflect.TypeFor[awsapi.ELBV2](), elbv2.NewFromConfig(cfg), false},
		{"sns", reflect.TypeFor[awsapi.SNS](), sns.NewFromConfig(cfg), false},
		{"sts", reflect.TypeFor[awsapi.STS](), sts.NewFromConfig(cfg), false},
	}
	for _, svc := range services {
		for i := range svc.api.NumMethod() {
			m := svc.api.Method(i)
			key := svc.name + ":" + m.Name
			t.Run(key, func(t *testing.T) {
				inFields, outFields := allFields, allFields
				if svc.ec2 {
					inFields, outFields = ec2Fields(false), ec2Fields(true)
				}
				in := reflect.New(m.Type.In(1).Elem())
				(&filler{n: 0, fields: inFields}).fill(in.Elem(), 0)
				out := reflect.New(m.Type.Out(0).Elem())
				(&filler{n: 1000, fields: outFields}).fill(out.Elem(), 0)
				e.plant(key, out.Interface(), nil)

				res := reflect.ValueOf(svc.client).MethodByName(m.Name).Call([]reflect.Value{reflect.ValueOf(context.Background()), in})
				if err, _ := res[1].Interface().(error); err != nil {
					t.Fatalf("calling %s: %v", key, err)
				}
				assertSame(t, "input decoded by the simulator", in.Interface(), e.input(key))
				assertSame(t, "output decoded by the SDK", out.Interface(), res[0].Interface())
			})
		}
	}
}

// assertSame compares two SDK structs, ignoring response metadata.
func assertSame(t *testing.T, what string, want, got any) {
	t.Helper()
	w, g := normalize(want), normalize(got)
	if reflect.DeepEqual(w, g) {
		return
	}
	wj, _ := json.MarshalIndent(w, "", " ")
	gj, _ := json.MarshalIndent(g, "", " ")
	t.Errorf("%s differs\nwant: %s\n got: %s\nfirst difference near: %s", what, wj, gj, firstDiff(string(wj), string(gj)))
}

func normalize(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return v
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	if f := cp.Elem().FieldByName("ResultMetadata"); f.IsValid() {
		f.Set(reflect.Zero(f.Type()))
	}
	return cp.Interface()
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, al[i], bl[i])
		}
	}
	return "lengths differ"
}
