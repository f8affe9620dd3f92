package awsfake

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unicode"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The subset of DynamoDB's expression language this model reads, exactly:
//
//	condition  := or
//	or         := and ("OR" and)*
//	and        := not ("AND" not)*
//	not        := "NOT" not | "(" condition ")" | function | operand cmp operand
//	function   := attribute_exists(name) | attribute_not_exists(name) | begins_with(name, operand)
//	cmp        := "=" | "<" | "<=" | ">" | ">="
//	operand    := name | :value
//	name       := #placeholder (from ExpressionAttributeNames)
//	update     := ("SET" name "=" operand ("," name "=" operand)* |
//	               "REMOVE" name ("," name)* | "ADD" name :value ("," name :value)*)+
//
// Anything else DynamoDB accepts (document paths, plain attribute names,
// "<>", BETWEEN, IN, size(), arithmetic, DELETE) is answered with a
// ValidationException naming what is not modelled, never guessed at.

// exprParams are a request's ExpressionAttributeNames and Values, with what
// its expressions used of them, for DynamoDB's "unused" check.
type exprParams struct {
	names     map[string]string
	values    map[string]ddbtypes.AttributeValue
	usedNames map[string]bool
	usedVals  map[string]bool
}

func newExprParams(names map[string]string, values map[string]ddbtypes.AttributeValue) *exprParams {
	return &exprParams{names: names, values: values, usedNames: map[string]bool{}, usedVals: map[string]bool{}}
}

// unused is DynamoDB's refusal of placeholders no expression uses.
func (p *exprParams) unused() error {
	var vals, names []string
	for k := range p.values {
		if !p.usedVals[k] {
			vals = append(vals, k)
		}
	}
	for k := range p.names {
		if !p.usedNames[k] {
			names = append(names, k)
		}
	}
	slices.Sort(vals)
	slices.Sort(names)
	switch {
	case len(vals) > 0:
		return errValidation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(vals, ", "))
	case len(names) > 0:
		return errValidation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(names, ", "))
	}
	return nil
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokName
	tokValue
	tokWord
	tokSymbol
)

type token struct {
	kind tokenKind
	text string
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			out = append(out, token{tokSymbol, string(c)})
			i++
		case c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			out = append(out, token{tokSymbol, s[i:j]})
			i = j
		case c == '#' || c == ':' || isWordByte(s[i]):
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			kind := tokWord
			if c == '#' {
				kind = tokName
			} else if c == ':' {
				kind = tokValue
			}
			if kind != tokWord && j == i+1 {
				return nil, fmt.Errorf("Syntax error; token: %q", s[i:j])
			}
			out = append(out, token{kind, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("Syntax error; token: %q", string(c))
		}
	}
	return append(out, token{kind: tokEOF, text: "<EOF>"}), nil
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// parser reads one expression of one request.
type parser struct {
	toks []token
	pos  int
	p    *exprParams
	// what names the expression in DynamoDB's messages ("ConditionExpression").
	what string
}

func (ps *parser) peek() token { return ps.toks[ps.pos] }

// at is the token i places ahead (EOF past the end).
func (ps *parser) at(i int) token { return ps.toks[min(ps.pos+i, len(ps.toks)-1)] }
func (ps *parser) next() token {
	t := ps.toks[ps.pos]
	if t.kind != tokEOF {
		ps.pos++
	}
	return t
}

func (ps *parser) isWord(t token, w string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, w)
}

func (ps *parser) syntax(t token) error {
	return errValidation("Invalid %s: Syntax error; token: %q", ps.what, t.text)
}

func (ps *parser) unsupported(what string) error {
	return errValidation("Invalid %s: %s is not modelled by this in-memory DynamoDB", ps.what, what)
}

func (ps *parser) expect(sym string) error {
	if t := ps.next(); t.kind != tokSymbol || t.text != sym {
		return ps.syntax(t)
	}
	return nil
}

// name reads a #placeholder and resolves it.
func (ps *parser) name() (string, error) {
	t := ps.next()
	switch t.kind {
	case tokName:
		n, ok := ps.p.names[t.text]
		if !ok {
			return "", errValidation("Invalid %s: An expression attribute name used in the document path is not defined; attribute name: %s", ps.what, t.text)
		}
		ps.p.usedNames[t.text] = true
		return n, nil
	case tokWord:
		return "", ps.unsupported("the plain attribute name " + t.text + " (use ExpressionAttributeNames)")
	}
	return "", ps.syntax(t)
}

// operand is a resolved name or value.
type operand struct {
	attr string
	val  ddbtypes.AttributeValue
}

func (o operand) resolve(item map[string]ddbtypes.AttributeValue) ddbtypes.AttributeValue {
	if o.val != nil {
		return o.val
	}
	return item[o.attr]
}

func (ps *parser) value() (ddbtypes.AttributeValue, error) {
	t := ps.next()
	if t.kind != tokValue {
		return nil, ps.syntax(t)
	}
	v, ok := ps.p.values[t.text]
	if !ok {
		return nil, errValidation("Invalid %s: An expression attribute value used in expression is not defined; attribute value: %s", ps.what, t.text)
	}
	ps.p.usedVals[t.text] = true
	return v, nil
}

func (ps *parser) operand() (operand, error) {
	if ps.peek().kind == tokValue {
		v, err := ps.value()
		return operand{val: v}, err
	}
	n, err := ps.name()
	return operand{attr: n}, err
}

// condition is a parsed condition, evaluated against an item (nil: none).
type condition func(item map[string]ddbtypes.AttributeValue) bool

func parseCondition(expr, what string, p *exprParams) (condition, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, errValidation("Invalid %s: %v", what, err)
	}
	ps := &parser{toks: toks, p: p, what: what}
	c, err := ps.or()
	if err != nil {
		return nil, err
	}
	if t := ps.peek(); t.kind != tokEOF {
		return nil, ps.syntax(t)
	}
	return c, nil
}

func (ps *parser) or() (condition, error) {
	l, err := ps.and()
	for err == nil && ps.isWord(ps.peek(), "OR") {
		ps.next()
		var r condition
		if r, err = ps.and(); err == nil {
			a, b := l, r
			l = func(it map[string]ddbtypes.AttributeValue) bool { return a(it) || b(it) }
		}
	}
	return l, err
}

func (ps *parser) and() (condition, error) {
	l, err := ps.not()
	for err == nil && ps.isWord(ps.peek(), "AND") {
		ps.next()
		var r condition
		if r, err = ps.not(); err == nil {
			a, b := l, r
			l = func(it map[string]ddbtypes.AttributeValue) bool { return a(it) && b(it) }
		}
	}
	return l, err
}

func (ps *parser) not() (condition, error) {
	t := ps.peek()
	switch {
	case ps.isWord(t, "NOT"):
		ps.next()
		c, err := ps.not()
		if err != nil {
			return nil, err
		}
		return func(it map[string]ddbtypes.AttributeValue) bool { return !c(it) }, nil
	case t.kind == tokSymbol && t.text == "(":
		ps.next()
		c, err := ps.or()
		if err == nil {
			err = ps.expect(")")
		}
		return c, err
	case t.kind == tokWord && ps.at(1).text == "(":
		return ps.function()
	}
	l, err := ps.operand()
	if err != nil {
		return nil, err
	}
	op := ps.next()
	if op.kind == tokWord && (strings.EqualFold(op.text, "BETWEEN") || strings.EqualFold(op.text, "IN")) {
		return nil, ps.unsupported(strings.ToUpper(op.text))
	}
	if op.kind != tokSymbol || !slices.Contains([]string{"=", "<", "<=", ">", ">=", "<>"}, op.text) {
		return nil, ps.syntax(op)
	}
	if op.text == "<>" {
		return nil, ps.unsupported("the comparator <>")
	}
	r, err := ps.operand()
	if err != nil {
		return nil, err
	}
	want := map[string]func(int) bool{
		"=": func(c int) bool { return c == 0 }, "<": func(c int) bool { return c < 0 }, "<=": func(c int) bool { return c <= 0 },
		">": func(c int) bool { return c > 0 }, ">=": func(c int) bool { return c >= 0 },
	}[op.text]
	eq := op.text == "="
	return func(it map[string]ddbtypes.AttributeValue) bool {
		c, ok := compare(l.resolve(it), r.resolve(it), eq)
		return ok && want(c)
	}, nil
}

func (ps *parser) function() (condition, error) {
	fn := ps.next()
	if err := ps.expect("("); err != nil {
		return nil, err
	}
	attr, err := ps.name()
	if err != nil {
		return nil, err
	}
	var c condition
	switch fn.text {
	case "attribute_exists":
		c = func(it map[string]ddbtypes.AttributeValue) bool { return it[attr] != nil }
	case "attribute_not_exists":
		c = func(it map[string]ddbtypes.AttributeValue) bool { return it[attr] == nil }
	case "begins_with":
		if err := ps.expect(","); err != nil {
			return nil, err
		}
		prefix, err := ps.operand()
		if err != nil {
			return nil, err
		}
		c = func(it map[string]ddbtypes.AttributeValue) bool {
			a, aok := it[attr].(*ddbtypes.AttributeValueMemberS)
			p, pok := prefix.resolve(it).(*ddbtypes.AttributeValueMemberS)
			return aok && pok && strings.HasPrefix(a.Value, p.Value)
		}
	default:
		return nil, ps.unsupported("the function " + fn.text)
	}
	return c, ps.expect(")")
}

// compare orders two scalars of one type (numbers by value, strings and
// binaries by bytes); ok is false when either is missing or the types differ,
// which makes every comparison false, as in DynamoDB. eq allows comparing
// any two values of one type for equality.
func compare(a, b ddbtypes.AttributeValue, eq bool) (int, bool) {
	switch x := a.(type) {
	case *ddbtypes.AttributeValueMemberS:
		if y, ok := b.(*ddbtypes.AttributeValueMemberS); ok {
			return strings.Compare(x.Value, y.Value), true
		}
	case *ddbtypes.AttributeValueMemberN:
		if y, ok := b.(*ddbtypes.AttributeValueMemberN); ok {
			nx, okx := number(x.Value)
			ny, oky := number(y.Value)
			return nx.Cmp(ny), okx && oky
		}
	case *ddbtypes.AttributeValueMemberB:
		if y, ok := b.(*ddbtypes.AttributeValueMemberB); ok {
			return bytes.Compare(x.Value, y.Value), true
		}
	case *ddbtypes.AttributeValueMemberBOOL:
		if y, ok := b.(*ddbtypes.AttributeValueMemberBOOL); ok && eq {
			return boolCmp(x.Value == y.Value), true
		}
	case *ddbtypes.AttributeValueMemberNULL:
		if _, ok := b.(*ddbtypes.AttributeValueMemberNULL); ok && eq {
			return 0, true
		}
	}
	return 0, false
}

func boolCmp(equal bool) int {
	if equal {
		return 0
	}
	return 1
}

func number(s string) (*big.Rat, bool) { return new(big.Rat).SetString(s) }

// formatNumber writes a number the way DynamoDB returns it: no exponent, no
// trailing zeros.
func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return strings.TrimRight(r.FloatString(38), "0")
}

// update is a parsed UpdateExpression.
type update struct {
	set    []setAction
	remove []string
	add    []setAction
	del    []setAction
}

type setAction struct {
	attr string
	val  operand
}

func (u update) attrs() []string {
	var out []string
	for _, a := range u.set {
		out = append(out, a.attr)
	}
	out = append(out, u.remove...)
	for _, a := range u.add {
		out = append(out, a.attr)
	}
	for _, a := range u.del {
		out = append(out, a.attr)
	}
	return out
}

func parseUpdate(expr string, p *exprParams) (update, error) {
	const what = "UpdateExpression"
	var u update
	toks, err := tokenize(expr)
	if err != nil {
		return u, errValidation("Invalid %s: %v", what, err)
	}
	ps := &parser{toks: toks, p: p, what: what}
	seen := map[string]bool{}
	for ps.peek().kind != tokEOF {
		clause := ps.next()
		kw := strings.ToUpper(clause.text)
		if clause.kind != tokWord || !slices.Contains([]string{"SET", "REMOVE", "ADD", "DELETE"}, kw) {
			return u, ps.syntax(clause)
		}
		if seen[kw] {
			return u, errValidation("Invalid %s: The %q section can only be used once in an update expression;", what, kw)
		}
		seen[kw] = true
		for {
			attr, err := ps.name()
			if err != nil {
				return u, err
			}
			switch kw {
			case "SET":
				if err := ps.expect("="); err != nil {
					return u, err
				}
				if t := ps.at(1); t.text == "(" || t.text == "+" || t.text == "-" {
					return u, ps.unsupported("a SET value other than a name or a :value")
				}
				v, err := ps.operand()
				if err != nil {
					return u, err
				}
				u.set = append(u.set, setAction{attr, v})
			case "REMOVE":
				u.remove = append(u.remove, attr)
			case "ADD", "DELETE":
				v, err := ps.value()
				if err != nil {
					return u, err
				}
				if kw == "ADD" {
					u.add = append(u.add, setAction{attr, operand{val: v}})
				} else {
					u.del = append(u.del, setAction{attr, operand{val: v}})
				}
			}
			if t := ps.peek(); t.kind != tokSymbol || t.text != "," {
				break
			}
			ps.next()
		}
	}
	if len(seen) == 0 {
		return u, ps.syntax(ps.peek())
	}
	attrs := u.attrs()
	for i, a := range attrs {
		if j := slices.Index(attrs[i+1:], a); j >= 0 {
			return u, errValidation("Invalid %s: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", what, a, a)
		}
	}
	return u, nil
}

// apply runs the update on a copy of item (nil: none yet) and returns it.
func (u update) apply(item map[string]ddbtypes.AttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	out := cloneItem(item)
	if out == nil {
		out = map[string]ddbtypes.AttributeValue{}
	}
	for _, a := range u.set {
		v := a.val.resolve(item)
		if v == nil {
			return nil, errValidation("The provided expression refers to an attribute that does not exist in the item")
		}
		out[a.attr] = cloneValue(v)
	}
	for _, a := range u.remove {
		delete(out, a)
	}
	for _, a := range u.add {
		sum, err := addValues(out[a.attr], a.val.val)
		if err != nil {
			return nil, err
		}
		out[a.attr] = sum
	}
	for _, a := range u.del {
		if err := deleteValues(out, a.attr, a.val.val); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// deleteValues removes a string set's elements from the attribute; a set
// left empty is removed, as DynamoDB stores no empty set.
func deleteValues(item map[string]ddbtypes.AttributeValue, attr string, v ddbtypes.AttributeValue) error {
	x, ok := v.(*ddbtypes.AttributeValueMemberSS)
	if !ok {
		return errValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: %s", typeName(v))
	}
	cur, exists := item[attr]
	if !exists {
		return nil
	}
	c, ok := cur.(*ddbtypes.AttributeValueMemberSS)
	if !ok {
		return errValidation("An operand in the update expression has an incorrect data type")
	}
	left := slices.DeleteFunc(slices.Clone(c.Value), func(s string) bool { return slices.Contains(x.Value, s) })
	if len(left) == 0 {
		delete(item, attr)
	} else {
		item[attr] = &ddbtypes.AttributeValueMemberSS{Value: left}
	}
	return nil
}

func addValues(cur, v ddbtypes.AttributeValue) (ddbtypes.AttributeValue, error) {
	bad := errValidation("An operand in the update expression has an incorrect data type")
	switch x := v.(type) {
	case *ddbtypes.AttributeValueMemberN:
		add, ok := number(x.Value)
		if !ok {
			return nil, bad
		}
		base := new(big.Rat)
		if cur != nil {
			c, ok := cur.(*ddbtypes.AttributeValueMemberN)
			if !ok {
				return nil, bad
			}
			if base, ok = number(c.Value); !ok {
				return nil, bad
			}
		}
		return &ddbtypes.AttributeValueMemberN{Value: formatNumber(base.Add(base, add))}, nil
	case *ddbtypes.AttributeValueMemberSS:
		if cur == nil {
			return cloneValue(x), nil
		}
		c, ok := cur.(*ddbtypes.AttributeValueMemberSS)
		if !ok {
			return nil, bad
		}
		set := slices.Clone(c.Value)
		for _, s := range x.Value {
			if !slices.Contains(set, s) {
				set = append(set, s)
			}
		}
		return &ddbtypes.AttributeValueMemberSS{Value: set}, nil
	}
	return nil, errValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: %s", typeName(v))
}

func typeName(v ddbtypes.AttributeValue) string {
	switch v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return "STRING"
	case *ddbtypes.AttributeValueMemberN:
		return "NUMBER"
	case *ddbtypes.AttributeValueMemberB:
		return "BINARY"
	case *ddbtypes.AttributeValueMemberBOOL:
		return "BOOLEAN"
	case *ddbtypes.AttributeValueMemberNULL:
		return "NULL"
	case *ddbtypes.AttributeValueMemberM:
		return "MAP"
	case *ddbtypes.AttributeValueMemberL:
		return "LIST"
	}
	return "SET"
}

func cloneItem(item map[string]ddbtypes.AttributeValue) map[string]ddbtypes.AttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]ddbtypes.AttributeValue, len(item))
	for k, v := range item {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v ddbtypes.AttributeValue) ddbtypes.AttributeValue {
	switch x := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return &ddbtypes.AttributeValueMemberS{Value: x.Value}
	case *ddbtypes.AttributeValueMemberN:
		return &ddbtypes.AttributeValueMemberN{Value: x.Value}
	case *ddbtypes.AttributeValueMemberB:
		return &ddbtypes.AttributeValueMemberB{Value: slices.Clone(x.Value)}
	case *ddbtypes.AttributeValueMemberBOOL:
		return &ddbtypes.AttributeValueMemberBOOL{Value: x.Value}
	case *ddbtypes.AttributeValueMemberNULL:
		return &ddbtypes.AttributeValueMemberNULL{Value: x.Value}
	case *ddbtypes.AttributeValueMemberSS:
		return &ddbtypes.AttributeValueMemberSS{Value: slices.Clone(x.Value)}
	case *ddbtypes.AttributeValueMemberNS:
		return &ddbtypes.AttributeValueMemberNS{Value: slices.Clone(x.Value)}
	case *ddbtypes.AttributeValueMemberBS:
		out := &ddbtypes.AttributeValueMemberBS{}
		for _, b := range x.Value {
			out.Value = append(out.Value, slices.Clone(b))
		}
		return out
	case *ddbtypes.AttributeValueMemberL:
		out := &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{}}
		for _, e := range x.Value {
			out.Value = append(out.Value, cloneValue(e))
		}
		return out
	case *ddbtypes.AttributeValueMemberM:
		return &ddbtypes.AttributeValueMemberM{Value: cloneItem(x.Value)}
	}
	return v
}
