// Command gen writes awssim's wire tables for the services whose SDK clients
// still use generated serializers instead of runtime schemas (EC2, S3 and
// Security Hub).
//
// The wire names (reservationSet, instancesSet, InstanceId.N, X-Amz-Meta-...)
// cannot be derived from Go field names, so gen reads them from the SDK's own
// serializers.go and deserializers.go with go/ast, for every shape reachable
// from the operations declared in internal/awsapi, and writes a Go table.
//
// Run it with `go generate ./internal/awssim`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

func main() {
	out := flag.String("o", "wire_gen.go", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		slog.Error("generating wire tables", "err", err)
		os.Exit(1)
	}
}

func run(out string) error {
	ec2Mod, err := moduleDir("github.com/aws/aws-sdk-go-v2/service/ec2")
	if err != nil {
		return err
	}
	s3Mod, err := moduleDir("github.com/aws/aws-sdk-go-v2/service/s3")
	if err != nil {
		return err
	}

	ec2Ops := methodNames(reflect.TypeFor[awsapi.EC2]())
	ec2, err := loadEC2(ec2Mod.dir, ec2Ops)
	if err != nil {
		return fmt.Errorf("reading the EC2 serializers: %w", err)
	}
	s3Ops := methodNames(reflect.TypeFor[awsapi.S3]())
	s3, s3Docs, err := loadS3(s3Mod.dir, s3Ops)
	if err != nil {
		return fmt.Errorf("reading the S3 serializers: %w", err)
	}
	shMod, err := moduleDir("github.com/aws/aws-sdk-go-v2/service/securityhub")
	if err != nil {
		return err
	}
	sh, err := loadRestJSON(shMod.dir, methodNames(reflect.TypeFor[awsapi.SecurityHub]()))
	if err != nil {
		return fmt.Errorf("reading the Security Hub serializers: %w", err)
	}

	src, err := render([]module{ec2Mod, s3Mod, shMod}, ec2, s3, s3Docs, sh)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

type module struct{ path, version, dir string }

func moduleDir(path string) (module, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}} {{.Dir}}", path)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return module{}, fmt.Errorf("locating %s: %w", path, err)
	}
	version, dir, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok || dir == "" {
		return module{}, fmt.Errorf("locating %s: module not downloaded (run go mod download)", path)
	}
	return module{path: path, version: version, dir: dir}, nil
}

func methodNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumMethod())
	for i := range t.NumMethod() {
		names = append(names, t.Method(i).Name)
	}
	return names
}

// funcs indexes a file's top-level functions by name.
func parseFuncs(path string) (map[string]*ast.FuncDecl, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				name = typeString(fd.Recv.List[0].Type) + "." + name
			}
			funcs[name] = fd
		}
	}
	return funcs, nil
}

// member is one Go field's wire names; empty when the direction does not use it.
type member struct {
	Field string
	Query string // EC2 query key (input)
	XML   string // element name (output)
	Item  string // list item element name (output), when the field is a wrapped list
	Flat  bool   // flattened list (output)
	Time  string // timestamp format when not date-time
	JSON  string // restJson1 member name (both directions)
}

type shape struct {
	Type    string // Go type as written in the SDK: "DescribeInstancesInput", "types.Tag"
	Members map[string]*member
}

type ec2Table struct {
	Version string
	Shapes  map[string]*shape
}

func loadEC2(dir string, ops []string) (*ec2Table, error) {
	ser, err := parseFuncs(filepath.Join(dir, "serializers.go"))
	if err != nil {
		return nil, err
	}
	des, err := parseFuncs(filepath.Join(dir, "deserializers.go"))
	if err != nil {
		return nil, err
	}
	t := &ec2Table{Shapes: map[string]*shape{}}
	w := &ec2Walker{ser: ser, des: des, t: t, seen: map[string]bool{}, desPrefix: "awsEc2query_deserializeDocument"}
	for _, op := range ops {
		hs := ser["*awsEc2query_serializeOp"+op+".HandleSerialize"]
		if hs == nil {
			return nil, fmt.Errorf("no serializer for %s", op)
		}
		if v := stringArgAfter(hs, "Version"); v != "" {
			if t.Version != "" && t.Version != v {
				return nil, fmt.Errorf("%s: API version %s, others %s", op, v, t.Version)
			}
			t.Version = v
		}
		// Operations without members in a direction have no document function.
		shapeIn(t.Shapes, op+"Input")
		shapeIn(t.Shapes, op+"Output")
		if name := "awsEc2query_serializeOpDocument" + op + "Input"; ser[name] != nil {
			if err := w.serStruct(name); err != nil {
				return nil, err
			}
		}
		if name := "awsEc2query_deserializeOpDocument" + op + "Output"; des[name] != nil {
			if err := w.desStruct(name); err != nil {
				return nil, err
			}
		}
	}
	if t.Version == "" {
		return nil, fmt.Errorf("no API version found")
	}
	return t, nil
}

type ec2Walker struct {
	ser, des map[string]*ast.FuncDecl
	t        *ec2Table
	seen     map[string]bool
	// desPrefix names the protocol's nested document deserializers
	// (EC2 query's, or REST-XML's for S3 response documents).
	desPrefix string
}

// shapeIn returns the shape of a Go type, adding it on first use.
func shapeIn(shapes map[string]*shape, typ string) *shape {
	s := shapes[typ]
	if s == nil {
		s = &shape{Type: typ, Members: map[string]*member{}}
		shapes[typ] = s
	}
	return s
}

// structFunc returns a struct (de)serializer and its Go type, or a nil
// function when it was walked already.
func structFunc(funcs map[string]*ast.FuncDecl, seen map[string]bool, name string) (*ast.FuncDecl, string, error) {
	if seen[name] {
		return nil, "", nil
	}
	seen[name] = true
	fd := funcs[name]
	if fd == nil {
		return nil, "", fmt.Errorf("%s not found", name)
	}
	typ, kind := paramType(fd)
	if kind != "struct" {
		return nil, "", fmt.Errorf("%s: expected a struct parameter, got %s", name, kind)
	}
	return fd, typ, nil
}

func (s *shape) member(field string) *member {
	m := s.Members[field]
	if m == nil {
		m = &member{Field: field}
		s.Members[field] = m
	}
	return m
}

// serStruct reads a struct serializer: each `if v.F ... { objectKey :=
// object.Key("Name") ... }` block names one member.
func (w *ec2Walker) serStruct(name string) error {
	fd, typ, err := structFunc(w.ser, w.seen, name)
	if fd == nil || err != nil {
		return err
	}
	s := shapeIn(w.t.Shapes, typ)
	for _, st := range fd.Body.List {
		ifs, ok := st.(*ast.IfStmt)
		if !ok {
			continue
		}
		field := selectorField(ifs, "v")
		key, flat := keyCall(ifs)
		if field == "" || key == "" {
			continue
		}
		m := s.member(field)
		m.Query = key
		if f := timeFormat(ifs); f != "" {
			m.Time = f
		}
		for _, callee := range calls(ifs, "awsEc2query_serializeDocument") {
			if err := w.serAny(callee, flat); err != nil {
				return fmt.Errorf("%s.%s: %w", typ, field, err)
			}
		}
	}
	return nil
}

func (w *ec2Walker) serAny(name string, flat bool) error {
	fd := w.ser[name]
	if fd == nil {
		return fmt.Errorf("serializer %s not found", name)
	}
	switch _, kind := paramType(fd); kind {
	case "struct":
		return w.serStruct(name)
	case "list":
		// EC2 query lists are always flattened (Name.N); a wrapped one would
		// need a member name the simulator does not model.
		if !flat {
			return fmt.Errorf("%s: wrapped EC2 query list", name)
		}
		for _, callee := range calls(fd.Body, "awsEc2query_serializeDocument") {
			if err := w.serAny(callee, true); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("%s: unsupported parameter kind %s", name, kind)
	}
}

// desStruct reads a struct deserializer: each `case strings.EqualFold("name",
// t.Name.Local)` names the element of the sv.Field it fills.
func (w *ec2Walker) desStruct(name string) error {
	fd, typ, err := structFunc(w.des, w.seen, name)
	if fd == nil || err != nil {
		return err
	}
	s := shapeIn(w.t.Shapes, typ)
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		cc, ok := n.(*ast.CaseClause)
		if !ok || err != nil || len(cc.List) != 1 {
			return err == nil
		}
		elem := equalFoldName(cc.List[0])
		if elem == "" {
			return true
		}
		field := selectorField(cc, "sv")
		if field == "" {
			err = fmt.Errorf("%s: element %s fills no field", name, elem)
			return false
		}
		m := s.member(field)
		m.XML = elem
		if f := timeFormat(cc); f != "" {
			m.Time = f
		}
		for _, callee := range calls(cc, w.desPrefix) {
			if strings.HasSuffix(callee, "Unwrapped") {
				m.Flat = true
			}
			item, e := w.desAny(callee)
			if e != nil {
				err = fmt.Errorf("%s.%s: %w", typ, field, e)
				return false
			}
			if !m.Flat {
				m.Item = item
			}
		}
		return false
	})
	return err
}

// desAny follows a nested deserializer and returns the item element name when
// it is a list.
func (w *ec2Walker) desAny(name string) (string, error) {
	fd := w.des[name]
	if fd == nil {
		return "", fmt.Errorf("deserializer %s not found", name)
	}
	switch _, kind := paramType(fd); kind {
	case "struct":
		return "", w.desStruct(name)
	case "list":
		item := ""
		if !strings.HasSuffix(name, "Unwrapped") {
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if cc, ok := n.(*ast.CaseClause); ok && len(cc.List) == 1 && item == "" {
					item = equalFoldName(cc.List[0])
				}
				return item == ""
			})
			if item == "" {
				return "", fmt.Errorf("%s: no item element", name)
			}
		}
		for _, callee := range calls(fd.Body, w.desPrefix) {
			nested, err := w.desAny(callee)
			if err != nil {
				return "", err
			}
			if nested != "" {
				return "", fmt.Errorf("%s: lists of lists are not modelled", name)
			}
		}
		return item, nil
	default:
		return "", fmt.Errorf("%s: unsupported parameter kind %s", name, kind)
	}
}

// restOp is one REST-XML operation's HTTP bindings.
type restOp struct {
	Name, Method, Path, Query string
	Payload                   string
	// OutPayload is the output field streamed as the response body
	// (GetObject's Body); OutXML is set when the response body is an XML
	// document, whose shapes go in the S3 shape table.
	OutPayload string
	OutXML     bool
	In, Out    []binding
}

type binding struct {
	Field, Header, Prefix, Label, Query, Time string
}

func loadS3(dir string, ops []string) ([]restOp, *ec2Table, error) {
	ser, err := parseFuncs(filepath.Join(dir, "serializers.go"))
	if err != nil {
		return nil, nil, err
	}
	des, err := parseFuncs(filepath.Join(dir, "deserializers.go"))
	if err != nil {
		return nil, nil, err
	}
	docs := &ec2Table{Shapes: map[string]*shape{}}
	walker := &ec2Walker{des: des, t: docs, seen: map[string]bool{}, desPrefix: "awsRestxml_deserializeDocument"}
	var out []restOp
	for _, op := range ops {
		r := restOp{Name: op}
		hs := ser["*awsRestxml_serializeOp"+op+".HandleSerialize"]
		if hs == nil {
			return nil, nil, fmt.Errorf("no serializer for %s", op)
		}
		ast.Inspect(hs.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if isCall(n, "httpbinding", "SplitURI") && len(n.Args) == 1 {
					uri := stringLit(n.Args[0])
					r.Path, r.Query, _ = strings.Cut(uri, "?")
				}
			case *ast.AssignStmt:
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
					if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Method" {
						r.Method = stringLit(n.Rhs[0])
					}
					if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "payload" {
						if sel, ok := n.Rhs[0].(*ast.SelectorExpr); ok {
							r.Payload = sel.Sel.Name
						}
					}
				}
			}
			return true
		})
		if r.Method == "" || r.Path == "" {
			return nil, nil, fmt.Errorf("%s: no HTTP method or URI", op)
		}
		if hasBodyDocument(ser["awsRestxml_serializeOpDocument"+op+"Input"]) {
			return nil, nil, fmt.Errorf("%s: XML request documents are not modelled", op)
		}
		in := ser["awsRestxml_serializeOpHttpBindings"+op+"Input"]
		if in == nil {
			return nil, nil, fmt.Errorf("%s: no HTTP bindings serializer", op)
		}
		for _, st := range in.Body.List {
			ifs, ok := st.(*ast.IfStmt)
			if !ok {
				continue
			}
			field := selectorField(ifs, "v")
			if field == "" {
				continue
			}
			b := binding{Field: field, Time: timeFormat(ifs)}
			ast.Inspect(ifs.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "locationName" && len(n.Rhs) == 1 {
						b.Header = stringLit(n.Rhs[0])
					}
				case *ast.CallExpr:
					switch {
					case isCall(n, "encoder", "SetURI") && len(n.Args) == 1:
						b.Label = stringLit(n.Args[0])
					case isCall(n, "encoder", "SetQuery") && len(n.Args) == 1:
						b.Query = stringLit(n.Args[0])
					case isCall(n, "encoder", "Headers") && len(n.Args) == 1:
						b.Prefix = stringLit(n.Args[0])
					}
				}
				return true
			})
			if b.Header != "" || b.Label != "" || b.Query != "" || b.Prefix != "" {
				r.In = append(r.In, b)
			}
		}
		outFn := des["awsRestxml_deserializeOpHttpBindings"+op+"Output"]
		if outFn == nil {
			return nil, nil, fmt.Errorf("%s: no HTTP bindings deserializer", op)
		}
		for _, st := range outFn.Body.List {
			ifs, ok := st.(*ast.IfStmt)
			if !ok || ifs.Init == nil {
				continue
			}
			field := selectorField(ifs.Body, "v")
			header := ""
			ast.Inspect(ifs.Init, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok {
					if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Values" && len(c.Args) == 1 {
						header = stringLit(c.Args[0])
					}
				}
				return header == ""
			})
			if field == "" || header == "" {
				continue
			}
			r.Out = append(r.Out, binding{Field: field, Header: header, Time: timeFormat(ifs.Body)})
		}
		if doc := des["awsRestxml_deserializeOpDocument"+op+"Output"]; doc != nil {
			if field := streamedBody(doc); field != "" {
				r.OutPayload = field
			} else {
				shapeIn(walker.t.Shapes, op+"Output")
				if err := walker.desStruct(doc.Name.Name); err != nil {
					return nil, nil, fmt.Errorf("%s: reading the response document: %w", op, err)
				}
				r.OutXML = true
			}
		}
		out = append(out, r)
	}
	return out, docs, nil
}

// streamedBody recognizes a response document that is the raw body
// (`v.Body = body`) and returns the field it fills.
func streamedBody(fd *ast.FuncDecl) string {
	field := ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		a, ok := n.(*ast.AssignStmt)
		if !ok || len(a.Lhs) != 1 || len(a.Rhs) != 1 {
			return field == ""
		}
		sel, ok := a.Lhs[0].(*ast.SelectorExpr)
		rhs, rok := a.Rhs[0].(*ast.Ident)
		if ok && rok && rhs.Name == "body" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "v" {
				field = sel.Sel.Name
			}
		}
		return field == ""
	})
	return field
}

func hasBodyDocument(fd *ast.FuncDecl) bool { return fd != nil }

// --- AST helpers -----------------------------------------------------------

func typeString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return "*" + typeString(e.X)
	case *ast.SelectorExpr:
		return typeString(e.X) + "." + e.Sel.Name
	case *ast.ArrayType:
		return "[]" + typeString(e.Elt)
	case *ast.MapType:
		return "map[" + typeString(e.Key) + "]" + typeString(e.Value)
	}
	return fmt.Sprintf("%T", e)
}

// paramType classifies a (de)serializer by its first parameter v.
func paramType(fd *ast.FuncDecl) (typ, kind string) {
	t := typeString(fd.Type.Params.List[0].Type)
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return t[2:], "list"
	case strings.HasPrefix(t, "map["):
		return t, "map"
	default:
		return t, "struct"
	}
}

// selectorField finds the first `<recv>.Field` in n.
func selectorField(n ast.Node, recv string) string {
	field := ""
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && field == "" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == recv {
				field = sel.Sel.Name
			}
		}
		return field == ""
	})
	return field
}

// keyCall finds object.Key("Name") or object.FlatKey("Name") in n.
func keyCall(n ast.Node) (name string, flat bool) {
	ast.Inspect(n, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || name != "" {
			return name == ""
		}
		switch {
		case isCall(c, "object", "Key"):
			name = stringLit(c.Args[0])
		case isCall(c, "object", "FlatKey"):
			name, flat = stringLit(c.Args[0]), true
		}
		return name == ""
	})
	return name, flat
}

func isCall(c *ast.CallExpr, recv, fn string) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != fn {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == recv
}

// calls lists the functions with the given prefix called inside n.
func calls(n ast.Node, prefix string) []string {
	var out []string
	ast.Inspect(n, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if id, ok := c.Fun.(*ast.Ident); ok && strings.HasPrefix(id.Name, prefix) {
				out = append(out, id.Name)
			}
		}
		return true
	})
	return out
}

// equalFoldName reads "name" from strings.EqualFold("name", t.Name.Local).
func equalFoldName(e ast.Expr) string {
	c, ok := e.(*ast.CallExpr)
	if !ok || !isCall(c, "strings", "EqualFold") || len(c.Args) != 2 {
		return ""
	}
	return stringLit(c.Args[0])
}

func timeFormat(n ast.Node) string {
	f := ""
	ast.Inspect(n, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			switch {
			case isCall(c, "smithytime", "ParseEpochSeconds"), isCall(c, "smithytime", "FormatEpochSeconds"):
				f = "epoch-seconds"
			case isCall(c, "smithytime", "ParseHTTPDate"), isCall(c, "smithytime", "FormatHTTPDate"):
				f = "http-date"
			}
		}
		return f == ""
	})
	return f
}

func stringLit(e ast.Expr) string {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return ""
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return ""
	}
	return s
}

// stringArgAfter finds body.Key(key).String("value") in fd.
func stringArgAfter(fd *ast.FuncDecl, key string) string {
	v := ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || v != "" {
			return v == ""
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "String" || len(c.Args) != 1 {
			return true
		}
		inner, ok := sel.X.(*ast.CallExpr)
		if ok && isCall(inner, "body", "Key") && stringLit(inner.Args[0]) == key {
			v = stringLit(c.Args[0])
		}
		return v == ""
	})
	return v
}

// --- output ----------------------------------------------------------------

func render(mods []module, ec2 *ec2Table, s3 []restOp, s3Docs *ec2Table, sh *jsonTable) ([]byte, error) {
	var b bytes.Buffer
	var from []string
	for _, m := range mods {
		from = append(from, m.path+" "+m.version)
	}
	fmt.Fprintf(&b, "// Code generated by internal/awssim/gen from %s; DO NOT EDIT.\n\n", strings.Join(from, ", "))
	b.WriteString("package awssim\n\n")
	b.WriteString("import (\n\t\"reflect\"\n\n")
	b.WriteString("\t\"github.com/aws/aws-sdk-go-v2/service/ec2\"\n")
	b.WriteString("\tec2types \"github.com/aws/aws-sdk-go-v2/service/ec2/types\"\n")
	b.WriteString("\t\"github.com/aws/aws-sdk-go-v2/service/s3\"\n")
	b.WriteString("\ts3types \"github.com/aws/aws-sdk-go-v2/service/s3/types\"\n")
	b.WriteString("\t\"github.com/aws/aws-sdk-go-v2/service/securityhub\"\n")
	b.WriteString("\tshtypes \"github.com/aws/aws-sdk-go-v2/service/securityhub/types\"\n)\n\n")

	fmt.Fprintf(&b, "const ec2Version = %q\n\n", ec2.Version)

	b.WriteString("// ec2Shapes holds, for every shape the awsapi.EC2 operations send or\n")
	b.WriteString("// receive, the EC2 query key and XML element name of each Go field.\n")
	writeShapes(&b, "ec2Shapes", "ec2", ec2)
	b.WriteString("// s3Shapes holds, for every shape of the XML documents the awsapi.S3\n")
	b.WriteString("// operations answer with, the XML element name of each Go field.\n")
	writeShapes(&b, "s3Shapes", "s3", s3Docs)

	b.WriteString("// s3Ops holds the HTTP bindings of the awsapi.S3 operations.\n")
	b.WriteString("var s3Ops = []restOp{\n")
	for _, op := range s3 {
		fmt.Fprintf(&b, "\t{Name: %q, Method: %q, Path: %q, Query: %q, Payload: %q,\n", op.Name, op.Method, op.Path, op.Query, op.Payload)
		if op.OutPayload != "" || op.OutXML {
			fmt.Fprintf(&b, "\t\tOutPayload: %q, OutXML: %v,\n", op.OutPayload, op.OutXML)
		}
		fmt.Fprintf(&b, "\t\tInput: reflect.TypeFor[s3.%sInput](), Output: reflect.TypeFor[s3.%sOutput](),\n", op.Name, op.Name)
		writeBindings(&b, "In", op.In)
		writeBindings(&b, "Out", op.Out)
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n\n")
	renderRestJSON(&b, "securityHub", "securityhub", "shtypes", sh)

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated code: %w", err)
	}
	return src, nil
}

// writeShapes writes one table of wire shapes; pkg is the SDK package the
// operation shapes belong to (its types are in <pkg>types).
func writeShapes(b *bytes.Buffer, name, pkg string, t *ec2Table) {
	fmt.Fprintf(b, "var %s = []wireShape{\n", name)
	names := make([]string, 0, len(t.Shapes))
	for n := range t.Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := t.Shapes[n]
		goType := pkg + "." + n
		if typ, ok := strings.CutPrefix(n, "types."); ok {
			goType = pkg + "types." + typ
		}
		fmt.Fprintf(b, "\t{Type: reflect.TypeFor[%s](), Members: []wireMember{\n", goType)
		fields := make([]string, 0, len(s.Members))
		for f := range s.Members {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			m := s.Members[f]
			fmt.Fprintf(b, "\t\t{Field: %q", m.Field)
			if m.Query != "" {
				fmt.Fprintf(b, ", Query: %q", m.Query)
			}
			if m.XML != "" {
				fmt.Fprintf(b, ", XML: %q", m.XML)
			}
			if m.Item != "" {
				fmt.Fprintf(b, ", Item: %q", m.Item)
			}
			if m.Flat {
				b.WriteString(", Flat: true")
			}
			if m.Time != "" {
				fmt.Fprintf(b, ", Time: %q", m.Time)
			}
			b.WriteString("},\n")
		}
		b.WriteString("\t}},\n")
	}
	b.WriteString("}\n\n")
}

func writeBindings(b *bytes.Buffer, name string, bs []binding) {
	fmt.Fprintf(b, "\t\t%s: []httpBinding{\n", name)
	for _, x := range bs {
		fmt.Fprintf(b, "\t\t\t{Field: %q", x.Field)
		for _, kv := range [][2]string{{"Header", x.Header}, {"Prefix", x.Prefix}, {"Label", x.Label}, {"Query", x.Query}, {"Time", x.Time}} {
			if kv[1] != "" {
				fmt.Fprintf(b, ", %s: %q", kv[0], kv[1])
			}
		}
		b.WriteString("},\n")
	}
	b.WriteString("\t\t},\n")
}
