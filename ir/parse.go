package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads a graph in the text form Fprint writes. file names the
// source in error messages, which read "file:line:col: what was expected".
// The result is checked with Verify.
func Parse(file string, src []byte) (*Graph, error) {
	p := &parser{file: file, src: string(src), line: 1, col: 1}
	g, err := p.graph()
	if err != nil {
		return nil, err
	}
	if err := Verify(g); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return g, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tValue  // %name
	tAt     // @name
	tString // "..."
	tPunct
)

type token struct {
	kind      tokKind
	text      string
	line, col int
}

type parser struct {
	file      string
	src       string
	pos       int
	line, col int
	tok       token
	peeked    bool
}

type parseError struct{ msg string }

func (p *parser) fail(t token, format string, args ...any) {
	panic(parseError{fmt.Sprintf("%s:%d:%d: %s", p.file, t.line, t.col, fmt.Sprintf(format, args...))})
}

func (p *parser) advance() byte {
	c := p.src[p.pos]
	p.pos++
	if c == '\n' {
		p.line++
		p.col = 1
	} else {
		p.col++
	}
	return c
}

func (p *parser) scan() token {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			p.advance()
			continue
		}
		if c == ';' || (c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/') { // comment to end of line
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.advance()
			}
			continue
		}
		break
	}
	t := token{line: p.line, col: p.col}
	if p.pos >= len(p.src) {
		t.kind = tEOF
		return t
	}
	c := p.src[p.pos]
	switch {
	case c == '%' || c == '@':
		p.advance()
		t.kind = tValue
		if c == '@' {
			t.kind = tAt
		}
		name, ok := p.name()
		if !ok {
			p.fail(t, "expected a name after %q", string(c))
		}
		t.text = name
	case c == '"':
		s, ok := p.quoted()
		if !ok {
			p.fail(t, "unterminated or malformed string")
		}
		t.kind, t.text = tString, s
	case isWordByte(c):
		start := p.pos
		for p.pos < len(p.src) && isWordByte(p.src[p.pos]) {
			p.advance()
		}
		t.kind, t.text = tWord, p.src[start:p.pos]
	default:
		p.advance()
		t.kind, t.text = tPunct, string(c)
	}
	return t
}

func (p *parser) name() (string, bool) {
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		return p.quoted()
	}
	start := p.pos
	for p.pos < len(p.src) && isWordByte(p.src[p.pos]) {
		p.advance()
	}
	return p.src[start:p.pos], p.pos > start
}

func (p *parser) quoted() (string, bool) {
	start := p.pos
	p.advance()
	for p.pos < len(p.src) {
		c := p.advance()
		if c == '\\' && p.pos < len(p.src) {
			p.advance()
			continue
		}
		if c == '"' {
			s, err := strconv.Unquote(p.src[start:p.pos])
			return s, err == nil
		}
		if c == '\n' {
			return "", false
		}
	}
	return "", false
}

func (p *parser) peek() token {
	if !p.peeked {
		p.tok = p.scan()
		p.peeked = true
	}
	return p.tok
}

func (p *parser) next() token {
	t := p.peek()
	p.peeked = false
	return t
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) expectPunct(s string) token {
	t := p.next()
	if t.kind != tPunct || t.text != s {
		p.fail(t, "expected %q, found %s", s, describe(t))
	}
	return t
}

func (p *parser) expectWord(what string) token {
	t := p.next()
	if t.kind != tWord {
		p.fail(t, "expected %s, found %s", what, describe(t))
	}
	return t
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tValue:
		return "%" + t.text
	case tAt:
		return "@" + t.text
	case tString:
		return strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func (p *parser) graph() (g *Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			g, err = nil, fmt.Errorf("%s", pe.msg)
		}
	}()
	if t := p.expectWord(`"graph"`); t.text != "graph" {
		p.fail(t, `expected "graph", found %s`, describe(t))
	}
	nt := p.next()
	if nt.kind != tWord && nt.kind != tString {
		p.fail(nt, "expected the graph's name, found %s", describe(nt))
	}
	p.expectPunct("{")
	b := NewBuilder(nt.text)
	values := map[string]*Value{}
	lookup := func(t token) *Value {
		v, ok := values[t.text]
		if !ok {
			p.fail(t, "value %%%s is not defined before use", quoteName(t.text))
		}
		return v
	}
	define := func(t token, v *Value) {
		if _, dup := values[t.text]; dup {
			p.fail(t, "value %%%s defined twice", quoteName(t.text))
		}
		values[t.text] = v
	}
	for {
		t := p.next()
		switch {
		case t.kind == tPunct && t.text == "}":
			if e := p.peek(); e.kind != tEOF {
				p.fail(e, "expected end of input after the graph, found %s", describe(e))
			}
			return b.G, nil
		case t.kind == tWord && t.text == "input":
			vt := p.valueName()
			p.expectPunct(":")
			typ := p.typ()
			v := &Value{Name: vt.text, Type: typ}
			define(vt, v)
			b.names[v.Name] = true
			b.G.Inputs = append(b.G.Inputs, v)
		case t.kind == tWord && t.text == "const":
			vt := p.valueName()
			p.expectPunct(":")
			typ := p.typ()
			p.expectPunct("=")
			data := p.data(typ)
			v := &Value{Name: vt.text, Type: typ, Const: data}
			define(vt, v)
			b.names[v.Name] = true
			b.G.Consts = append(b.G.Consts, v)
		case t.kind == tWord && t.text == "output":
			for {
				vt := p.valueName()
				b.G.Outputs = append(b.G.Outputs, lookup(vt))
				if !p.isPunct(",") {
					break
				}
				p.next()
			}
		case t.kind == tValue:
			outs := []token{t}
			for p.isPunct(",") {
				p.next()
				outs = append(outs, p.valueName())
			}
			p.expectPunct("=")
			opTok := p.expectWord("an op name")
			kind, ok := KindOf(opTok.text)
			if !ok {
				p.fail(opTok, "unknown op %q", opTok.text)
			}
			name := ""
			if p.peek().kind == tAt {
				name = p.next().text
			}
			p.expectPunct("(")
			var ins []*Value
			for !p.isPunct(")") {
				if len(ins) > 0 {
					p.expectPunct(",")
				}
				ins = append(ins, lookup(p.valueName()))
			}
			p.next()
			op := ops[kind].New()
			if p.isPunct("{") {
				p.next()
				for !p.isPunct("}") {
					if len(Attrs(op)) == 0 && !isPtr(op) {
						p.fail(p.peek(), "%s has no attributes", kind)
					}
					at := p.expectWord("an attribute name")
					p.expectPunct("=")
					val := p.attrValue()
					var err error
					if op, err = SetAttr(op, at.text, val); err != nil {
						p.fail(at, "%s: %v", kind, err)
					}
					if !p.isPunct(",") {
						break
					}
					p.next()
				}
				p.expectPunct("}")
			}
			p.expectPunct(":")
			var types []Type
			for {
				types = append(types, p.typ())
				if !p.isPunct(",") {
					break
				}
				p.next()
			}
			if len(types) != len(outs) {
				p.fail(opTok, "%d results named but %d types given", len(outs), len(types))
			}
			n := &Node{Name: name, Op: op, Inputs: ins}
			for i, ot := range outs {
				v := &Value{Name: ot.text, Type: types[i], Def: n}
				define(ot, v)
				b.names[v.Name] = true
				n.Outputs = append(n.Outputs, v)
			}
			b.G.Nodes = append(b.G.Nodes, n)
		default:
			p.fail(t, "expected input, const, output, a %%result or \"}\", found %s", describe(t))
		}
	}
}

func isPtr(op Op) bool { _, simple := op.(Simple); return !simple }

func (p *parser) valueName() token {
	t := p.next()
	if t.kind != tValue {
		p.fail(t, "expected a %%value, found %s", describe(t))
	}
	return t
}

// typ parses dtype[dims]<quant>#layout.
func (p *parser) typ() Type {
	dt := p.expectWord("a type such as f32[N,4]")
	d, ok := ParseDType(dt.text)
	if !ok {
		p.fail(dt, "unknown dtype %q (want one of f32, f16, bf16, i8, u8, i16, i32, i64, bool)", dt.text)
	}
	t := Type{DType: d}
	p.expectPunct("[")
	t.Shape = Shape{}
	for !p.isPunct("]") {
		if len(t.Shape) > 0 {
			p.expectPunct(",")
		}
		w := p.expectWord("a dimension")
		dim, err := ParseDim(w.text)
		if err != nil {
			p.fail(w, "%v", err)
		}
		t.Shape = append(t.Shape, dim)
	}
	p.next()
	if p.isPunct("<") {
		p.next()
		key := p.expectWord("scale= or fixed=")
		p.expectPunct("=")
		switch key.text {
		case "scale":
			v := p.expectWord("a scale")
			f, err := strconv.ParseFloat(v.text, 64)
			if err != nil || f == 0 {
				p.fail(v, "bad scale %q", v.text)
			}
			t.Quant.Scale = f
			p.expectPunct(",")
			if k := p.expectWord("zp="); k.text != "zp" {
				p.fail(k, "expected zp=, found %s", describe(k))
			}
			p.expectPunct("=")
			z := p.expectWord("a zero point")
			zp, err := strconv.ParseInt(z.text, 10, 64)
			if err != nil {
				p.fail(z, "bad zero point %q", z.text)
			}
			t.Quant.ZeroPoint = zp
		case "fixed":
			v := p.expectWord("word.frac lengths such as 8.4")
			w, f, ok := strings.Cut(v.text, ".")
			wl, err1 := strconv.Atoi(w)
			fl, err2 := strconv.Atoi(f)
			if !ok || err1 != nil || err2 != nil || wl <= 0 {
				p.fail(v, "bad fixed-point format %q, want word.frac such as 8.4", v.text)
			}
			t.Quant.WordLen, t.Quant.FracLen = wl, fl
		default:
			p.fail(key, "expected scale= or fixed=, found %s", describe(key))
		}
		p.expectPunct(">")
	}
	if p.isPunct("#") {
		p.next()
		l := p.expectWord("a layout")
		lay, ok := ParseLayout(l.text)
		if !ok {
			p.fail(l, "unknown layout %q (want nchw, nhwc, nchw8c or nchw16c)", l.text)
		}
		t.Layout = lay
	}
	return t
}

// data parses dense<[...]>, dense<elided> or splat<x> for a constant of type t.
func (p *parser) data(t Type) *Tensor {
	kw := p.expectWord("dense or splat")
	if !t.Shape.Static() {
		p.fail(kw, "constant shape %s must be static", t.Shape)
	}
	shape := t.Shape.Ints()
	for _, d := range shape {
		if d < 0 {
			p.fail(kw, "constant shape %s has a negative dimension", t.Shape)
		}
	}
	p.expectPunct("<")
	ten := &Tensor{DType: t.DType, Shape: shape}
	switch kw.text {
	case "splat":
		ten.Splat = true
		ten.F, ten.I = nil, nil
		w := p.expectWord("a number")
		p.setElems(ten, []token{w})
	case "dense":
		if p.peek().kind == tWord && p.peek().text == "elided" {
			p.next()
			break
		}
		open := p.expectPunct("[")
		var elems []token
		for !p.isPunct("]") {
			if len(elems) > 0 {
				p.expectPunct(",")
			}
			elems = append(elems, p.expectWord("a number"))
		}
		p.next()
		if want := numel(shape); want != len(elems) {
			p.fail(open, "dense data has %d elements, type %s needs %d", len(elems), FormatType(t), want)
		}
		p.setElems(ten, elems)
	default:
		p.fail(kw, "expected dense or splat, found %s", describe(kw))
	}
	p.expectPunct(">")
	return ten
}

func (p *parser) setElems(t *Tensor, elems []token) {
	if t.DType.IsFloat() {
		t.F = make([]float32, len(elems))
		for i, e := range elems {
			f, ok := toFloat(Ident(e.text))
			if !ok {
				var err error
				f, err = strconv.ParseFloat(e.text, 64)
				if err != nil && !isRangeErr(err) {
					p.fail(e, "bad number %q", e.text)
				}
			}
			t.F[i] = float32(f)
		}
		return
	}
	t.I = make([]int64, len(elems))
	for i, e := range elems {
		v, err := strconv.ParseInt(e.text, 10, 64)
		if err != nil {
			p.fail(e, "bad integer %q", e.text)
		}
		t.I[i] = v
	}
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// attrValue parses an attribute value: a number, word, string or list.
func (p *parser) attrValue() any {
	t := p.next()
	switch t.kind {
	case tString:
		return t.text
	case tWord:
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(t.text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		if t.text == "true" || t.text == "false" {
			return t.text == "true"
		}
		return Ident(t.text)
	case tPunct:
		if t.text == "[" {
			list := []any{}
			for !p.isPunct("]") {
				if len(list) > 0 {
					p.expectPunct(",")
				}
				list = append(list, p.attrValue())
			}
			p.next()
			return list
		}
	}
	p.fail(t, "expected an attribute value, found %s", describe(t))
	return nil
}
