package tmpl

import (
	"go/ast"
	"go/constant"
	"go/token"
	"strconv"
)

// fold simplifies the rewritten body in one pass, in statement order (an
// unrolled loop's copies bind the same names to different constants):
// defines of shape values become constants, branches on constants are
// pruned, constant makes become arrays, and code after a return goes.
func (in *inst) fold(body *ast.BlockStmt) {
	assigned := map[*ast.Object]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Obj != nil {
						assigned[id.Obj] = true
					}
				}
			}
		case *ast.IncDecStmt:
			if id, ok := n.X.(*ast.Ident); ok && id.Obj != nil {
				assigned[id.Obj] = true
			}
		case *ast.UnaryExpr:
			if id, ok := n.X.(*ast.Ident); ok && n.Op == token.AND && id.Obj != nil {
				assigned[id.Obj] = true
			}
		}
		return true
	})
	f := &folder{in: in, assigned: assigned}
	body.List = f.list(body.List)
}

type folder struct {
	in       *inst
	assigned map[*ast.Object]bool
	// pruned are the blocks left of a branch taken, which may be spliced
	// into their list.
	pruned map[*ast.BlockStmt]bool
}

// list folds a statement list.
func (f *folder) list(list []ast.Stmt) []ast.Stmt {
	var out []ast.Stmt
	for _, s := range list {
		for _, r := range f.stmt(s) {
			if b, ok := r.(*ast.BlockStmt); ok && f.spliceable(out, b, list) {
				out = append(out, b.List...)
				continue
			}
			out = append(out, r)
		}
		if n := len(out); n > 0 && terminates(out[n-1]) {
			break
		}
	}
	return f.mergeVars(out)
}

// mergeVars turns `var x T` followed by `x = e` (what a pruned
// `if s.Flag { x = e }` leaves) into `var x T = e`.
func (f *folder) mergeVars(list []ast.Stmt) []ast.Stmt {
	out := list[:0]
	for i := 0; i < len(list); i++ {
		if i+1 < len(list) {
			if d, ok := list[i].(*ast.DeclStmt); ok {
				if vs, ok := lone(d); ok {
					if a, ok := list[i+1].(*ast.AssignStmt); ok && a.Tok == token.ASSIGN && len(a.Lhs) == 1 && len(a.Rhs) == 1 {
						if id, ok := a.Lhs[0].(*ast.Ident); ok && id.Obj != nil && id.Obj == vs.Names[0].Obj && !mentions(a.Rhs[0], id.Obj) {
							if arr := f.toArray(&ast.AssignStmt{Lhs: a.Lhs, Tok: token.DEFINE, Rhs: a.Rhs}); arr != nil {
								// var x []T; x = make([]T, c): a stack array too.
								out = append(out, arr...)
							} else {
								vs.Values = a.Rhs
								out = append(out, d)
							}
							i++
							continue
						}
					}
				}
			}
		}
		out = append(out, list[i])
	}
	return out
}

// lone returns the spec of `var x T`: one name, no value.
func lone(d *ast.DeclStmt) (*ast.ValueSpec, bool) {
	gd, ok := d.Decl.(*ast.GenDecl)
	if !ok || gd.Tok != token.VAR || len(gd.Specs) != 1 {
		return nil, false
	}
	vs := gd.Specs[0].(*ast.ValueSpec)
	return vs, len(vs.Names) == 1 && len(vs.Values) == 0 && vs.Type != nil
}

// mentions reports whether e uses the name obj.
func mentions(e ast.Expr, obj *ast.Object) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Obj == obj {
			found = true
		}
		return !found
	})
	return found
}

// spliceable reports whether block b, a pruned branch, may be spliced
// into out (the list being built from list): none of its top-level
// names is declared at the list's level.
func (f *folder) spliceable(out []ast.Stmt, b *ast.BlockStmt, list []ast.Stmt) bool {
	if !f.pruned[b] {
		return false
	}
	mine := declared(b.List)
	if len(mine) == 0 {
		return true
	}
	theirs := declared(out)
	for k, v := range declared(list) {
		theirs[k] = v
	}
	for name := range mine {
		if theirs[name] {
			return false
		}
	}
	return true
}

// declared returns the names declared at the top level of list.
func declared(list []ast.Stmt) map[string]bool {
	names := map[string]bool{}
	for _, s := range list {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				for _, l := range s.Lhs {
					names[l.(*ast.Ident).Name] = true
				}
			}
		case *ast.DeclStmt:
			for _, n := range declNames(s.Decl) {
				names[n] = true
			}
		case *ast.LabeledStmt:
			names[s.Label.Name] = true
		}
	}
	return names
}

// terminates reports whether s ends its list (what follows is dead).
func terminates(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.ReturnStmt:
		return true
	case *ast.BranchStmt:
		return s.Tok != token.FALLTHROUGH
	case *ast.ExprStmt:
		if c, ok := s.X.(*ast.CallExpr); ok {
			return isIdent(c.Fun, "panic")
		}
	}
	return false
}

// stmt folds one statement.
func (f *folder) stmt(s ast.Stmt) []ast.Stmt {
	switch s := s.(type) {
	case *ast.AssignStmt:
		if c := f.toConst(s); c != nil {
			return c
		}
		if a := f.toArray(s); a != nil {
			return a
		}
		f.exprs(s.Rhs)
	case *ast.BlockStmt:
		s.List = f.list(s.List)
	case *ast.IfStmt:
		return f.ifStmt(s)
	case *ast.SwitchStmt:
		return f.switchStmt(s)
	case *ast.ForStmt:
		if s.Init != nil {
			f.stmt(s.Init)
		}
		s.Body.List = f.list(s.Body.List)
	case *ast.RangeStmt:
		s.Body.List = f.list(s.Body.List)
	case *ast.ExprStmt:
		f.exprs([]ast.Expr{s.X})
	case *ast.ReturnStmt:
		f.exprs(s.Results)
	case *ast.DeclStmt:
		for _, sp := range s.Decl.(*ast.GenDecl).Specs {
			if vs, ok := sp.(*ast.ValueSpec); ok {
				f.exprs(vs.Values)
			}
		}
	case *ast.LabeledStmt:
		ss := f.stmt(s.Stmt)
		if len(ss) != 1 {
			fail("label %s: its statement was pruned", s.Label.Name)
		}
		s.Stmt = ss[0]
	}
	return []ast.Stmt{s}
}

// exprs folds the function literals inside expressions (closures).
func (f *folder) exprs(es []ast.Expr) {
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			if fl, ok := n.(*ast.FuncLit); ok {
				fl.Body.List = f.list(fl.Body.List)
				return false
			}
			return true
		})
	}
}

// ifStmt prunes an if on a constant.
func (f *folder) ifStmt(s *ast.IfStmt) []ast.Stmt {
	if s.Init != nil {
		f.stmt(s.Init)
	}
	s.Cond = f.simplify(s.Cond)
	v, ok := f.eval(s.Cond)
	if !ok || v.Kind() != constant.Bool {
		s.Body.List = f.list(s.Body.List)
		if s.Else != nil {
			ss := f.stmt(s.Else)
			switch {
			case len(ss) == 0:
				s.Else = nil
			case len(ss) == 1:
				if b, ok := ss[0].(*ast.BlockStmt); ok && len(b.List) == 0 {
					s.Else = nil
				} else {
					s.Else = ss[0]
				}
			default:
				s.Else = &ast.BlockStmt{List: ss}
			}
		}
		return []ast.Stmt{s}
	}
	var taken []ast.Stmt
	if constant.BoolVal(v) {
		taken = s.Body.List
	} else if b, ok := s.Else.(*ast.BlockStmt); ok {
		taken = b.List
	} else if s.Else != nil {
		taken = []ast.Stmt{s.Else}
	}
	if s.Init != nil {
		taken = append([]ast.Stmt{s.Init}, taken...)
	}
	b := &ast.BlockStmt{List: f.list(taken)}
	f.markPruned(b)
	return []ast.Stmt{b}
}

func (f *folder) markPruned(b *ast.BlockStmt) {
	if f.pruned == nil {
		f.pruned = map[*ast.BlockStmt]bool{}
	}
	f.pruned[b] = true
}

// switchStmt keeps only the case a constant switch takes.
func (f *folder) switchStmt(s *ast.SwitchStmt) []ast.Stmt {
	if s.Init != nil {
		f.stmt(s.Init)
	}
	var tag constant.Value
	if s.Tag != nil {
		var ok bool
		if tag, ok = f.eval(s.Tag); !ok {
			return f.switchBodies(s)
		}
	}
	var chosen *ast.CaseClause
	var dflt *ast.CaseClause
	for _, c := range s.Body.List {
		cc := c.(*ast.CaseClause)
		if cc.List == nil {
			dflt = cc
			continue
		}
		for _, e := range cc.List {
			e = f.simplify(e)
			v, ok := f.eval(e)
			if !ok {
				return f.switchBodies(s)
			}
			match := false
			if tag != nil {
				match = constant.Compare(tag, token.EQL, v)
			} else if v.Kind() == constant.Bool {
				match = constant.BoolVal(v)
			} else {
				return f.switchBodies(s)
			}
			if match && chosen == nil {
				chosen = cc
			}
		}
	}
	if chosen == nil {
		chosen = dflt
	}
	if chosen == nil {
		return nil
	}
	if breaks(chosen.Body) {
		return f.switchBodies(s)
	}
	taken := chosen.Body
	if s.Init != nil {
		taken = append([]ast.Stmt{s.Init}, taken...)
	}
	b := &ast.BlockStmt{List: f.list(taken)}
	f.markPruned(b)
	return []ast.Stmt{b}
}

func (f *folder) switchBodies(s *ast.SwitchStmt) []ast.Stmt {
	for _, c := range s.Body.List {
		cc := c.(*ast.CaseClause)
		cc.Body = f.list(cc.Body)
	}
	return []ast.Stmt{s}
}

// breaks reports whether list holds a break or fallthrough that belongs
// to the switch around it.
func breaks(list []ast.Stmt) bool {
	found := false
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BranchStmt:
			if (n.Tok == token.BREAK && n.Label == nil) || n.Tok == token.FALLTHROUGH {
				found = true
			}
		case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.FuncLit:
			return false
		}
		return true
	}
	for _, s := range list {
		ast.Inspect(s, walk)
	}
	return found
}

// toConst turns a define of shape values into a const declaration; of
// a define whose values are partly such, the constants are split off
// (the declaration first, then the define of the rest).
func (f *folder) toConst(s *ast.AssignStmt) []ast.Stmt {
	orig := f.in.orig[s]
	if s.Tok != token.DEFINE || orig == nil || len(s.Lhs) != len(s.Rhs) {
		return nil
	}
	var consts []int
	vals := make([]constant.Value, len(s.Rhs))
	for i, l := range s.Lhs {
		id := l.(*ast.Ident)
		if id.Name == "_" || id.Obj == nil || id.Obj.Decl != orig {
			return nil // a redeclaration stays whole
		}
		if f.assigned[id.Obj] {
			continue
		}
		r := s.Rhs[i]
		v, ok := f.eval(r)
		if !ok || (!f.shapeConst(r) && !(v.Kind() == constant.Int && f.intOnly(r) && f.namesConst(r))) {
			continue
		}
		vals[i] = v
		consts = append(consts, i)
	}
	if len(consts) == 0 {
		return nil
	}
	// Integer constants are typed int, as the template's variables are:
	// untyped, 1.0/I would divide in floating point where the template
	// divides integers.
	ints, others := &ast.ValueSpec{Type: ident("int")}, &ast.ValueSpec{}
	var lhs, rhs []ast.Expr
	for i, l := range s.Lhs {
		if vals[i] == nil {
			lhs, rhs = append(lhs, l), append(rhs, s.Rhs[i])
			continue
		}
		id := l.(*ast.Ident)
		spec := others
		if f.intOnly(s.Rhs[i]) {
			spec = ints
		}
		spec.Names = append(spec.Names, id)
		spec.Values = append(spec.Values, s.Rhs[i])
		f.in.consts[id.Obj] = vals[i]
	}
	var out []ast.Stmt
	for _, spec := range []*ast.ValueSpec{ints, others} {
		if len(spec.Names) > 0 {
			out = append(out, &ast.DeclStmt{Decl: &ast.GenDecl{Tok: token.CONST, Specs: []ast.Spec{spec}}})
		}
	}
	if len(lhs) > 0 {
		s.Lhs, s.Rhs = lhs, rhs
		f.exprs(s.Rhs)
		out = append(out, s)
	}
	return out
}

// shapeConst reports whether e is a shape value, maybe converted to a
// basic type.
func (f *folder) shapeConst(e ast.Expr) bool {
	if f.in.fromShape[e] {
		return true
	}
	if c, ok := e.(*ast.CallExpr); ok && len(c.Args) == 1 {
		if id, ok := c.Fun.(*ast.Ident); ok && basicTypes[id.Name] {
			return f.in.fromShape[c.Args[0]]
		}
	}
	return false
}

var basicTypes = map[string]bool{"int": true, "int64": true, "float32": true, "float64": true}

// intOnly reports whether every operand of e is an integer literal or
// an integer constant (so the constant expression computes what the
// template's int arithmetic does).
func (f *folder) intOnly(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			ok = ok && n.Kind == token.INT
		case *ast.Ident:
			v, isConst := f.in.consts[n.Obj]
			ok = ok && n.Obj != nil && isConst && v.Kind() == constant.Int
		case *ast.CallExpr:
			ok = false
		}
		return ok
	})
	return ok
}

// namesConst reports whether e names a constant (so a define of it is
// derived from the shape, not a literal counter's start).
func (f *folder) namesConst(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Obj != nil {
			_, c := f.in.consts[id.Obj]
			found = found || c
		}
		return true
	})
	return found
}

// toArray turns x := make([]T, c) (c constant) into a stack array.
func (f *folder) toArray(s *ast.AssignStmt) []ast.Stmt {
	if s.Tok != token.DEFINE || len(s.Lhs) != 1 || len(s.Rhs) != 1 {
		return nil
	}
	call, ok := s.Rhs[0].(*ast.CallExpr)
	if !ok || !isIdent(call.Fun, "make") || len(call.Args) < 2 || len(call.Args) > 3 {
		return nil
	}
	st, ok := call.Args[0].(*ast.ArrayType)
	if !ok || st.Len != nil {
		return nil
	}
	n, ok := f.eval(call.Args[1])
	if !ok || n.Kind() != constant.Int || !f.intOnly(call.Args[1]) {
		return nil
	}
	if len(call.Args) == 3 {
		c, ok := f.eval(call.Args[2])
		if !ok || constant.Compare(c, token.NEQ, n) {
			return nil
		}
	}
	x := s.Lhs[0].(*ast.Ident)
	arr := f.in.newName(x.Name + "Arr")
	return []ast.Stmt{
		&ast.DeclStmt{Decl: &ast.GenDecl{Tok: token.VAR, Specs: []ast.Spec{&ast.ValueSpec{Names: []*ast.Ident{ident(arr)},
			Type: &ast.ArrayType{Len: call.Args[1], Elt: st.Elt}}}}},
		&ast.AssignStmt{Lhs: []ast.Expr{x}, Tok: token.DEFINE, Rhs: []ast.Expr{&ast.SliceExpr{X: ident(arr)}}},
	}
}

// simplify folds && and || with a constant operand and ! of a constant.
func (f *folder) simplify(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case *ast.ParenExpr:
		in := f.simplify(x.X)
		if _, ok := f.eval(in); ok {
			return in
		}
		x.X = in
		return x
	case *ast.UnaryExpr:
		if x.Op == token.NOT {
			x.X = f.simplify(x.X)
			if v, ok := f.eval(x.X); ok && v.Kind() == constant.Bool {
				return ident(strconv.FormatBool(!constant.BoolVal(v)))
			}
		}
		return x
	case *ast.BinaryExpr:
		if x.Op != token.LAND && x.Op != token.LOR {
			return x
		}
		x.X, x.Y = f.simplify(x.X), f.simplify(x.Y)
		and := x.Op == token.LAND
		if v, ok := f.boolOf(x.X); ok {
			if v == and { // true && y, false || y
				return x.Y
			}
			return ident(strconv.FormatBool(v))
		}
		if v, ok := f.boolOf(x.Y); ok {
			if v == and { // x && true, x || false
				return x.X
			}
			if pure(x.X) {
				return ident(strconv.FormatBool(v))
			}
		}
		return x
	}
	return e
}

func (f *folder) boolOf(e ast.Expr) (bool, bool) {
	v, ok := f.eval(e)
	if !ok || v.Kind() != constant.Bool {
		return false, false
	}
	return constant.BoolVal(v), true
}

// eval evaluates a constant expression of literals and constants.
func (f *folder) eval(e ast.Expr) (constant.Value, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		v := constant.MakeFromLiteral(x.Value, x.Kind, 0)
		return v, v.Kind() != constant.Unknown
	case *ast.Ident:
		switch {
		case x.Obj != nil:
			v, ok := f.in.consts[x.Obj]
			return v, ok
		case x.Name == "true":
			return constant.MakeBool(true), true
		case x.Name == "false":
			return constant.MakeBool(false), true
		}
	case *ast.ParenExpr:
		return f.eval(x.X)
	case *ast.UnaryExpr:
		v, ok := f.eval(x.X)
		if !ok {
			return nil, false
		}
		if x.Op == token.NOT && v.Kind() != constant.Bool {
			return nil, false
		}
		r := constant.UnaryOp(x.Op, v, 0)
		return r, r.Kind() != constant.Unknown
	case *ast.BinaryExpr:
		a, ok1 := f.eval(x.X)
		b, ok2 := f.eval(x.Y)
		if !ok1 || !ok2 {
			return nil, false
		}
		switch x.Op {
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
			if a.Kind() == constant.Bool != (b.Kind() == constant.Bool) {
				return nil, false
			}
			return constant.MakeBool(constant.Compare(a, x.Op, b)), true
		case token.LAND, token.LOR:
			if a.Kind() != constant.Bool || b.Kind() != constant.Bool {
				return nil, false
			}
		case token.SHL, token.SHR:
			s, ok := constant.Uint64Val(b)
			if !ok {
				return nil, false
			}
			return constant.Shift(a, x.Op, uint(s)), true
		}
		if x.Op == token.QUO && a.Kind() == constant.Int && b.Kind() == constant.Int {
			if constant.Sign(b) == 0 {
				return nil, false
			}
			r := constant.BinaryOp(a, token.QUO_ASSIGN, b) // integer division
			return r, true
		}
		if (x.Op == token.QUO || x.Op == token.REM) && constant.Sign(b) == 0 {
			return nil, false
		}
		r := constant.BinaryOp(a, x.Op, b)
		return r, r.Kind() != constant.Unknown
	case *ast.CallExpr:
		// Conversions to int or float64 of a constant.
		if id, ok := x.Fun.(*ast.Ident); ok && len(x.Args) == 1 && (id.Name == "int" || id.Name == "float64") && id.Obj == nil {
			v, ok := f.eval(x.Args[0])
			if !ok {
				return nil, false
			}
			if id.Name == "int" {
				v = constant.ToInt(v)
			} else {
				v = constant.ToFloat(v)
			}
			return v, v.Kind() != constant.Unknown
		}
	}
	return nil, false
}

// pure reports whether evaluating e has no effects other than a
// possible panic on bad input (an index out of range): names, literals,
// selectors, operators, indexing, slicing, conversions, the builtins
// len, cap, min, max and make, and package math's functions. Dropping such an expression whose value
// nobody reads changes nothing a correct call sees.
func pure(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			switch fun := n.Fun.(type) {
			case *ast.Ident:
				ok = ok && (basicTypes[fun.Name] || fun.Name == "len" || fun.Name == "cap" || fun.Name == "min" || fun.Name == "max" || fun.Name == "make")
			case *ast.ArrayType:
				// A conversion to a slice type.
			case *ast.SelectorExpr:
				// Package math's functions have no effects.
				ok = ok && isIdent(fun.X, "math")
			default:
				ok = false
			}
		case *ast.FuncLit, *ast.StarExpr, *ast.TypeAssertExpr:
			ok = false
		case *ast.UnaryExpr:
			ok = ok && n.Op != token.ARROW
		}
		return ok
	})
	return ok
}
