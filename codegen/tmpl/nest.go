package tmpl

import (
	"fmt"
	"go/ast"
	"go/token"
	"iter"

	"github.com/modelc/modelc/ir"
)

// Nest is a loop nest over Dims, row-major (the last dimension
// fastest), carrying one offset per operand: operand k's offset starts
// at its base and advances Steps[k][d] per iteration of loop d. A
// template ranges over Each; the generated code is the loops themselves:
//
//	for p := range s.L.Each(n, 0, 0) {   for pd0, p0_0, p1_0 := 0, 0, 0; pd0 < D0; pd0, p0_0, p1_0 = pd0+1, p0_0+S00, p1_0+S10 {
//		y[o] = x[p[0]] + z[p[1]]           for pd1, p0_1, p1_1 := 0, p0_0, p1_0; pd1 < D1; … {
//		o++                                    y[o] = x[p0_1] + z[p1_1]
//	}                                            o++ } }
//
// With no dimensions the body runs once, on the bases.
type Nest struct {
	Dims  []ir.Dim
	Steps [][]ir.Dim // per operand, per dimension
}

// Each yields, for batch n, the operands' offsets at every iteration of
// the innermost loop, starting from base (one per operand). The slice is
// reused between iterations.
func (l Nest) Each(n int, base ...int) iter.Seq[[]int] {
	if len(base) != len(l.Steps) {
		panic(fmt.Sprintf("tmpl.Nest.Each: %d bases for %d operands", len(base), len(l.Steps)))
	}
	return func(yield func([]int) bool) {
		r := len(l.Dims)
		dims := make([]int, r)
		for d, dim := range l.Dims {
			dims[d] = dim.At(n)
			if dims[d] <= 0 {
				return
			}
		}
		idx := make([]int, r)
		off := append([]int(nil), base...)
		for {
			if !yield(off) {
				return
			}
			d := r - 1
			for ; d >= 0; d-- {
				idx[d]++
				for k := range off {
					off[k] += l.Steps[k][d].At(n)
				}
				if idx[d] < dims[d] {
					break
				}
				for k := range off {
					off[k] -= dims[d] * l.Steps[k][d].At(n)
				}
				idx[d] = 0
			}
			if d < 0 {
				return
			}
		}
	}
}

// nestRange rewrites `for p := range s.L.Each(n, base…)` into its loops.
func (in *inst) nestRange(s *ast.RangeStmt) ([]ast.Stmt, bool) {
	call, ok := s.X.(*ast.CallExpr)
	if !ok {
		return nil, false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Each" {
		return nil, false
	}
	path, ok := in.shapePath(sel.X)
	if !ok {
		return nil, false
	}
	nest, ok := in.field(path).Interface().(Nest)
	if !ok {
		return nil, false
	}
	p, ok := s.Key.(*ast.Ident)
	if !ok || s.Value != nil || s.Tok != token.DEFINE || p.Obj == nil {
		fail("range over s.%s.Each defines one variable", path[0])
	}
	if len(call.Args) < 1 || !isIdent(call.Args[0], "n") {
		fail("s.%s.Each takes n first", path[0])
	}
	ops := len(nest.Steps)
	if len(call.Args)-1 != ops {
		fail("s.%s.Each: %d bases for %d operands", path[0], len(call.Args)-1, ops)
	}
	for k, st := range nest.Steps {
		if len(st) != len(nest.Dims) {
			fail("s.%s: operand %d has %d steps for %d dimensions", path[0], k, len(st), len(nest.Dims))
		}
	}
	base := in.exprs(call.Args[1:])
	r := len(nest.Dims)
	if r == 0 {
		offs := make([]ast.Expr, ops)
		for k, b := range base {
			if !isSimple(b) {
				b = &ast.ParenExpr{X: b}
			}
			offs[k] = b
		}
		in.nests[p.Obj] = offs
		body := in.block(s.Body)
		delete(in.nests, p.Obj)
		return []ast.Stmt{body}, true
	}
	ctr := func(d int) string { return in.newName(fmt.Sprintf("%sd%d", p.Name, d)) }
	off := func(k, d int) string { return in.newName(fmt.Sprintf("%s%d_%d", p.Name, k, d)) }
	inner := make([]ast.Expr, ops)
	for k := range ops {
		inner[k] = ident(off(k, r-1))
	}
	in.nests[p.Obj] = inner
	body := in.block(s.Body)
	delete(in.nests, p.Obj)
	for d := r - 1; d >= 0; d-- {
		init := &ast.AssignStmt{Lhs: []ast.Expr{ident(ctr(d))}, Tok: token.DEFINE, Rhs: []ast.Expr{intLit(0)}}
		post := &ast.AssignStmt{Lhs: []ast.Expr{ident(ctr(d))}, Tok: token.ASSIGN,
			Rhs: []ast.Expr{&ast.BinaryExpr{X: ident(ctr(d)), Op: token.ADD, Y: intLit(1)}}}
		for k := range ops {
			start := cloneExpr(base[k])
			if d > 0 {
				start = ident(off(k, d-1))
			}
			init.Lhs = append(init.Lhs, ident(off(k, d)))
			init.Rhs = append(init.Rhs, start)
			post.Lhs = append(post.Lhs, ident(off(k, d)))
			post.Rhs = append(post.Rhs, &ast.BinaryExpr{X: ident(off(k, d)), Op: token.ADD, Y: dimExpr(nest.Steps[k][d])})
		}
		loop := &ast.ForStmt{Init: init, Cond: &ast.BinaryExpr{X: ident(ctr(d)), Op: token.LSS, Y: dimExpr(nest.Dims[d])}, Post: post, Body: body}
		body = &ast.BlockStmt{List: []ast.Stmt{loop}}
	}
	return body.List, true
}
