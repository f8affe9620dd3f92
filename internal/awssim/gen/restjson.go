package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"path/filepath"
	"sort"
	"strings"
)

// jsonOp is one restJson1 operation: its HTTP method and path. The
// operations served have no URI, query or header bindings: everything is in
// the JSON body.
type jsonOp struct{ Name, Method, Path string }

type jsonTable struct {
	Shapes map[string]*shape
	Ops    []jsonOp
}

// loadRestJSON reads the JSON member names of every shape the operations
// send or receive, and their HTTP bindings, from a restJson1 SDK package.
func loadRestJSON(dir string, ops []string) (*jsonTable, error) {
	ser, err := parseFuncs(filepath.Join(dir, "serializers.go"))
	if err != nil {
		return nil, err
	}
	des, err := parseFuncs(filepath.Join(dir, "deserializers.go"))
	if err != nil {
		return nil, err
	}
	t := &jsonTable{Shapes: map[string]*shape{}}
	w := &jsonWalker{ser: ser, des: des, t: t, seen: map[string]bool{}}
	for _, op := range ops {
		hs := ser["*awsRestjson1_serializeOp"+op+".HandleSerialize"]
		if hs == nil {
			return nil, fmt.Errorf("no serializer for %s", op)
		}
		r := jsonOp{Name: op}
		ast.Inspect(hs.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if isCall(n, "httpbinding", "SplitURI") && len(n.Args) == 1 {
					r.Path = stringLit(n.Args[0])
				}
			case *ast.AssignStmt:
				if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Method" && len(n.Rhs) == 1 {
					r.Method = stringLit(n.Rhs[0])
				}
			}
			return true
		})
		if r.Method == "" || r.Path == "" || strings.ContainsAny(r.Path, "{?") {
			return nil, fmt.Errorf("%s: HTTP method %q, URI %q: only body-only operations are modelled", op, r.Method, r.Path)
		}
		if b := ser["awsRestjson1_serializeOpHttpBindings"+op+"Input"]; b == nil || usesEncoder(b) {
			return nil, fmt.Errorf("%s: URI, query or header bindings are not modelled", op)
		}
		t.Ops = append(t.Ops, r)
		shapeIn(t.Shapes, op+"Input")
		shapeIn(t.Shapes, op+"Output")
		if name := "awsRestjson1_serializeOpDocument" + op + "Input"; ser[name] != nil {
			if err := w.serStruct(name); err != nil {
				return nil, err
			}
		}
		if name := "awsRestjson1_deserializeOpDocument" + op + "Output"; des[name] != nil {
			if err := w.desStruct(name); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// usesEncoder reports whether an HTTP bindings serializer binds anything.
func usesEncoder(fd *ast.FuncDecl) bool {
	used := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "encoder" {
					used = true
				}
			}
		}
		return !used
	})
	return used
}

type jsonWalker struct {
	ser, des map[string]*ast.FuncDecl
	t        *jsonTable
	seen     map[string]bool
}

// serStruct reads `if v.F ... { ok := object.Key("Name") ... }` blocks.
func (w *jsonWalker) serStruct(name string) error {
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
		key, _ := keyCall(ifs)
		if field == "" || key == "" {
			continue
		}
		if timeFormat(ifs) != "" || len(calls(ifs, "smithytime.")) > 0 {
			return fmt.Errorf("%s.%s: timestamps are not modelled", typ, field)
		}
		s.member(field).JSON = key
		for _, callee := range calls(ifs, "awsRestjson1_serializeDocument") {
			if err := w.serAny(callee); err != nil {
				return fmt.Errorf("%s.%s: %w", typ, field, err)
			}
		}
	}
	return nil
}

func (w *jsonWalker) serAny(name string) error {
	fd := w.ser[name]
	if fd == nil {
		return fmt.Errorf("serializer %s not found", name)
	}
	if _, kind := paramType(fd); kind == "struct" {
		return w.serStruct(name)
	}
	for _, callee := range calls(fd.Body, "awsRestjson1_serializeDocument") {
		if err := w.serAny(callee); err != nil {
			return err
		}
	}
	return nil
}

// desStruct reads the `case "Name":` clauses that fill sv.Field.
func (w *jsonWalker) desStruct(name string) error {
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
		key := stringLit(cc.List[0])
		if key == "" {
			return true
		}
		field := selectorField(cc, "sv")
		if field == "" {
			err = fmt.Errorf("%s: member %s fills no field", name, key)
			return false
		}
		if len(calls(cc, "smithytime.")) > 0 {
			err = fmt.Errorf("%s.%s: timestamps are not modelled", typ, field)
			return false
		}
		s.member(field).JSON = key
		for _, callee := range calls(cc, "awsRestjson1_deserializeDocument") {
			if e := w.desAny(callee); e != nil {
				err = fmt.Errorf("%s.%s: %w", typ, field, e)
				return false
			}
		}
		return false
	})
	return err
}

func (w *jsonWalker) desAny(name string) error {
	fd := w.des[name]
	if fd == nil {
		return fmt.Errorf("deserializer %s not found", name)
	}
	if _, kind := paramType(fd); kind == "struct" {
		return w.desStruct(name)
	}
	for _, callee := range calls(fd.Body, "awsRestjson1_deserializeDocument") {
		if err := w.desAny(callee); err != nil {
			return err
		}
	}
	return nil
}

// renderRestJSON writes the table of one restJson1 service: pkg is the SDK
// package's import name, types its types package's alias.
func renderRestJSON(b *bytes.Buffer, service, pkg, typesAlias string, t *jsonTable) {
	fmt.Fprintf(b, "// %sShapes holds the JSON member name of each Go field of every shape\n", service)
	fmt.Fprintf(b, "// the awsapi operations send or receive.\n")
	fmt.Fprintf(b, "var %sShapes = []wireShape{\n", service)
	names := make([]string, 0, len(t.Shapes))
	for n := range t.Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := t.Shapes[n]
		goType := pkg + "." + n
		if tn, ok := strings.CutPrefix(n, "types."); ok {
			goType = typesAlias + "." + tn
		}
		fmt.Fprintf(b, "\t{Type: reflect.TypeFor[%s](), Members: []wireMember{\n", goType)
		fields := make([]string, 0, len(s.Members))
		for f := range s.Members {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			fmt.Fprintf(b, "\t\t{Field: %q, JSON: %q},\n", f, s.Members[f].JSON)
		}
		b.WriteString("\t}},\n")
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(b, "// %sOps holds the HTTP method and path of the awsapi operations.\n", service)
	fmt.Fprintf(b, "var %sOps = []jsonOp{\n", service)
	for _, op := range t.Ops {
		fmt.Fprintf(b, "\t{Name: %q, Method: %q, Path: %q, Input: reflect.TypeFor[%s.%sInput](), Output: reflect.TypeFor[%s.%sOutput]()},\n",
			op.Name, op.Method, op.Path, pkg, op.Name, pkg, op.Name)
	}
	b.WriteString("}\n")
}
