package tmpl

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/modelc/modelc/ir"
)

// inst is one instantiation in progress.
type inst struct {
	set   *Set
	fd    *ast.FuncDecl
	file  *ast.File
	b     Binding
	shape reflect.Value
	sObj  *ast.Object // the shape parameter

	omitted map[*ast.Object]string // omitted parameters, by name
	groups  map[*ast.Object]group
	types   map[*ast.Object]string // type parameters → their Go types
	// subst are names replaced by an expression: an unrolled loop's
	// variables, an inlined function's parameters.
	subst map[*ast.Object]ast.Expr
	// nests map a loop nest's variable to its operands' offsets.
	nests map[*ast.Object][]ast.Expr
	// fromShape marks the expressions a shape field became.
	fromShape map[ast.Expr]bool
	// orig maps a rewritten define to the template's, which its new
	// names' objects point to.
	orig map[*ast.AssignStmt]*ast.AssignStmt
	// consts are the values of names turned into constants (fold).
	consts map[*ast.Object]constant.Value
	// taken are the names the template uses, which new names avoid.
	taken   map[string]bool
	helpers map[string]bool
}

// group is a [][]T parameter standing for k kernel parameters.
type group struct {
	name string
	k    int
}

func newInst(s *Set, fd *ast.FuncDecl, b Binding) *inst {
	in := &inst{set: s, fd: fd, file: s.files[fd], b: b, omitted: map[*ast.Object]string{}, groups: map[*ast.Object]group{},
		types: map[*ast.Object]string{}, subst: map[*ast.Object]ast.Expr{}, nests: map[*ast.Object][]ast.Expr{},
		fromShape: map[ast.Expr]bool{}, taken: map[string]bool{}, helpers: map[string]bool{},
		orig: map[*ast.AssignStmt]*ast.AssignStmt{}, consts: map[*ast.Object]constant.Value{}}
	ast.Inspect(fd, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			in.taken[id.Name] = true
		}
		return true
	})
	return in
}

// run instantiates the template.
func (in *inst) run() *Func {
	fd, b := in.fd, in.b
	ps := fd.Type.Params.List
	if len(ps) == 0 || len(ps[0].Names) != 1 {
		fail("the first parameter must be the shape, alone")
	}
	in.sObj = ps[0].Names[0].Obj
	if b.Shape == nil {
		fail("no shape bound")
	}
	in.shape = reflect.ValueOf(b.Shape)
	if st, ok := ps[0].Type.(*ast.Ident); !ok || st.Name != in.shape.Type().Name() || in.shape.Kind() != reflect.Struct {
		fail("the shape is %s, bound to a %T", exprString(ps[0].Type), b.Shape)
	}
	for name := range b.Hooks {
		if !in.shape.FieldByName(name).IsValid() {
			fail("hook %s is not a field of %s", name, in.shape.Type().Name())
		}
	}
	if tp := fd.Type.TypeParams; tp != nil {
		for _, f := range tp.List {
			for _, id := range f.Names {
				t, ok := b.Types[id.Name]
				if !ok {
					fail("type parameter %s is not bound", id.Name)
				}
				in.types[id.Obj] = t
			}
		}
	}
	omit := map[string]bool{}
	for _, o := range b.Omit {
		omit[o] = true
	}
	fn := &Func{Helpers: map[string]string{}}
	found := map[string]bool{}
	serial := false
	for _, f := range ps[1:] {
		typ := exprString(in.expr(f.Type))
		for _, id := range f.Names {
			found[id.Name] = true
			switch {
			case omit[id.Name]:
				in.omitted[id.Obj] = id.Name
			case b.Groups[id.Name] > 0 || strings.HasPrefix(typ, "[][]"):
				k := b.Groups[id.Name]
				if k == 0 || !strings.HasPrefix(typ, "[][]") {
					fail("parameter %s (%s) needs a group size of at least 1 (Groups)", id.Name, typ)
				}
				in.groups[id.Obj] = group{id.Name, k}
				for i := range k {
					fn.Params = append(fn.Params, Param{in.newName(fmt.Sprintf("%s%d", id.Name, i)), typ[2:]})
				}
			case b.Serial != "" && (id.Name == "lo" || id.Name == "hi"):
				serial = true
			default:
				fn.Params = append(fn.Params, Param{id.Name, typ})
			}
		}
	}
	for _, o := range b.Omit {
		if !found[o] {
			fail("omitted parameter %s does not exist", o)
		}
	}
	if b.Serial != "" && !serial {
		fail("Serial needs parameters lo and hi")
	}
	if rs := fd.Type.Results; rs != nil {
		if len(rs.List) != 1 || len(rs.List[0].Names) > 0 {
			fail("a template returns nothing or one unnamed result")
		}
		fn.Result = exprString(in.expr(rs.List[0].Type))
	}
	body := in.block(fd.Body)
	if serial {
		items, err := parser.ParseExpr(b.Serial)
		if err != nil {
			fail("Serial %q: %v", b.Serial, err)
		}
		body.List = append([]ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{ident("lo"), ident("hi")}, Tok: token.DEFINE,
			Rhs: []ast.Expr{intLit(0), zeroPos(items)}}}, body.List...)
	}
	in.fold(body)
	fn.Body = in.finish(fn, body)
	names := make([]string, 0, len(in.helpers))
	for h := range in.helpers {
		names = append(names, h)
	}
	sort.Strings(names)
	seen := map[ast.Decl]bool{}
	for _, h := range names {
		// A declaration of several names (a const group) is copied once,
		// under its first name.
		d := in.set.decls[h]
		if !seen[d] {
			seen[d] = true
			fn.Helpers[declNames(d)[0]] = in.set.helperSource(h)
		}
	}
	return fn
}

// newName returns name, failing if the template already uses it.
func (in *inst) newName(name string) string {
	if in.taken[name] {
		fail("the generated name %s collides with a name in the template", name)
	}
	return name
}

// block rewrites a block.
func (in *inst) block(b *ast.BlockStmt) *ast.BlockStmt {
	if b == nil {
		return nil
	}
	return &ast.BlockStmt{List: in.stmts(b.List)}
}

// stmts rewrites a statement list, where a dispatch may take two
// statements.
func (in *inst) stmts(list []ast.Stmt) []ast.Stmt {
	var out []ast.Stmt
	for i := 0; i < len(list); i++ {
		if ifs, ok := list[i].(*ast.IfStmt); ok {
			var next *ast.IfStmt
			if i+1 < len(list) {
				next, _ = list[i+1].(*ast.IfStmt)
			}
			if ss, took, ok := in.dispatchIf(ifs, next); ok {
				out = append(out, ss...)
				if took {
					i++
				}
				continue
			}
		}
		out = append(out, in.stmt(list[i])...)
	}
	return out
}

// stmt rewrites one statement into any number.
func (in *inst) stmt(s ast.Stmt) []ast.Stmt {
	switch s := s.(type) {
	case *ast.BlockStmt:
		return []ast.Stmt{in.block(s)}
	case *ast.ExprStmt:
		if call, ok := s.X.(*ast.CallExpr); ok {
			if ss, ok := in.tableCall(call); ok {
				return ss
			}
		}
		return []ast.Stmt{&ast.ExprStmt{X: in.expr(s.X)}}
	case *ast.AssignStmt:
		if ss, ok := in.dispatchAssign(s); ok {
			return ss
		}
		r := &ast.AssignStmt{Lhs: in.exprs(s.Lhs), Tok: s.Tok, Rhs: in.exprs(s.Rhs)}
		in.orig[r] = s
		return []ast.Stmt{r}
	case *ast.DeclStmt:
		return []ast.Stmt{&ast.DeclStmt{Decl: in.genDecl(s.Decl.(*ast.GenDecl))}}
	case *ast.EmptyStmt:
		return nil
	case *ast.LabeledStmt:
		st := in.stmt(s.Stmt)
		if len(st) != 1 {
			fail("label %s on a statement that does not stay one", s.Label.Name)
		}
		return []ast.Stmt{&ast.LabeledStmt{Label: ident(s.Label.Name), Stmt: st[0]}}
	case *ast.IncDecStmt:
		return []ast.Stmt{&ast.IncDecStmt{X: in.expr(s.X), Tok: s.Tok}}
	case *ast.GoStmt, *ast.SendStmt, *ast.SelectStmt, *ast.TypeSwitchStmt:
		fail("%T is not supported in templates", s)
	case *ast.DeferStmt:
		return []ast.Stmt{&ast.DeferStmt{Call: in.expr(s.Call).(*ast.CallExpr)}}
	case *ast.ReturnStmt:
		return []ast.Stmt{&ast.ReturnStmt{Results: in.exprs(s.Results)}}
	case *ast.BranchStmt:
		var l *ast.Ident
		if s.Label != nil {
			l = ident(s.Label.Name)
		}
		return []ast.Stmt{&ast.BranchStmt{Tok: s.Tok, Label: l}}
	case *ast.IfStmt:
		r := &ast.IfStmt{Init: in.stmt1(s.Init), Cond: in.expr(s.Cond), Body: in.block(s.Body)}
		if s.Else != nil {
			r.Else = in.stmt1(s.Else)
		}
		return []ast.Stmt{r}
	case *ast.SwitchStmt:
		r := &ast.SwitchStmt{Init: in.stmt1(s.Init), Body: &ast.BlockStmt{}}
		if s.Tag != nil {
			r.Tag = in.expr(s.Tag)
		}
		for _, c := range s.Body.List {
			cc := c.(*ast.CaseClause)
			r.Body.List = append(r.Body.List, &ast.CaseClause{List: in.exprs(cc.List), Body: in.stmts(cc.Body)})
		}
		return []ast.Stmt{r}
	case *ast.ForStmt:
		r := &ast.ForStmt{Init: in.stmt1(s.Init), Post: in.stmt1(s.Post), Body: in.block(s.Body)}
		if s.Cond != nil {
			r.Cond = in.expr(s.Cond)
		}
		return []ast.Stmt{r}
	case *ast.RangeStmt:
		if ss, ok := in.nestRange(s); ok {
			return ss
		}
		if ss, ok := in.unroll(s); ok {
			return ss
		}
		r := &ast.RangeStmt{Tok: s.Tok, X: in.expr(s.X), Body: in.block(s.Body)}
		if s.Key != nil {
			r.Key = in.expr(s.Key)
		}
		if s.Value != nil {
			r.Value = in.expr(s.Value)
		}
		return []ast.Stmt{r}
	}
	fail("statement %T is not supported in templates", s)
	return nil
}

// stmt1 rewrites a statement that must stay one (an if's init, a for's
// post), or nil.
func (in *inst) stmt1(s ast.Stmt) ast.Stmt {
	if s == nil {
		return nil
	}
	ss := in.stmt(s)
	if len(ss) != 1 {
		fail("a %T in this position must stay one statement", s)
	}
	return ss[0]
}

func (in *inst) genDecl(d *ast.GenDecl) *ast.GenDecl {
	r := &ast.GenDecl{Tok: d.Tok}
	if len(d.Specs) > 1 {
		r.Lparen = 1 // print as a group
	}
	for _, sp := range d.Specs {
		switch sp := sp.(type) {
		case *ast.ValueSpec:
			v := &ast.ValueSpec{Values: in.exprs(sp.Values)}
			for _, n := range sp.Names {
				v.Names = append(v.Names, in.expr(n).(*ast.Ident))
			}
			if sp.Type != nil {
				v.Type = in.expr(sp.Type)
			}
			r.Specs = append(r.Specs, v)
		case *ast.TypeSpec:
			r.Specs = append(r.Specs, &ast.TypeSpec{Name: ident(sp.Name.Name), Type: in.expr(sp.Type)})
		}
	}
	return r
}

func (in *inst) exprs(es []ast.Expr) []ast.Expr {
	if es == nil {
		return nil
	}
	r := make([]ast.Expr, len(es))
	for i, e := range es {
		r[i] = in.expr(e)
	}
	return r
}

// expr rewrites an expression.
func (in *inst) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.Ident:
		return in.ident(e)
	case *ast.BasicLit:
		return &ast.BasicLit{Kind: e.Kind, Value: e.Value}
	case *ast.SelectorExpr:
		if path, ok := in.shapePath(e); ok {
			return in.shapeValue(path)
		}
		if x, ok := e.X.(*ast.Ident); ok && x.Obj == nil {
			if p, ok := in.set.imports[in.file][x.Name]; ok {
				if !allowedImports[p] {
					fail("uses package %s, which generated files do not import", p)
				}
				return &ast.SelectorExpr{X: ident(x.Name), Sel: ident(e.Sel.Name)}
			}
		}
		return &ast.SelectorExpr{X: in.expr(e.X), Sel: ident(e.Sel.Name)}
	case *ast.CallExpr:
		return in.call(e)
	case *ast.IndexExpr:
		return in.index(e)
	case *ast.IndexListExpr:
		return &ast.IndexListExpr{X: in.expr(e.X), Indices: in.exprs(e.Indices)}
	case *ast.ParenExpr:
		return &ast.ParenExpr{X: in.expr(e.X)}
	case *ast.UnaryExpr:
		return &ast.UnaryExpr{Op: e.Op, X: in.expr(e.X)}
	case *ast.BinaryExpr:
		x, y := in.expr(e.X), in.expr(e.Y)
		// "a" + "b" (a shape's string and a literal) as one string.
		if a, ok := x.(*ast.BasicLit); ok && a.Kind == token.STRING && e.Op == token.ADD {
			if b, ok := y.(*ast.BasicLit); ok && b.Kind == token.STRING {
				as, _ := strconv.Unquote(a.Value)
				bs, _ := strconv.Unquote(b.Value)
				return &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(as + bs)}
			}
		}
		return &ast.BinaryExpr{X: x, Op: e.Op, Y: y}
	case *ast.StarExpr:
		return &ast.StarExpr{X: in.expr(e.X)}
	case *ast.SliceExpr:
		return &ast.SliceExpr{X: in.expr(e.X), Low: in.expr(e.Low), High: in.expr(e.High), Max: in.expr(e.Max), Slice3: e.Slice3}
	case *ast.CompositeLit:
		r := &ast.CompositeLit{Type: in.expr(e.Type), Elts: in.exprs(e.Elts)}
		if r.Elts == nil {
			r.Elts = []ast.Expr{}
		}
		return r
	case *ast.KeyValueExpr:
		return &ast.KeyValueExpr{Key: in.expr(e.Key), Value: in.expr(e.Value)}
	case *ast.FuncLit:
		return &ast.FuncLit{Type: in.expr(e.Type).(*ast.FuncType), Body: in.block(e.Body)}
	case *ast.TypeAssertExpr:
		return &ast.TypeAssertExpr{X: in.expr(e.X), Type: in.expr(e.Type)}
	case *ast.ArrayType:
		return &ast.ArrayType{Len: in.expr(e.Len), Elt: in.expr(e.Elt)}
	case *ast.Ellipsis:
		return &ast.Ellipsis{Elt: in.expr(e.Elt)}
	case *ast.MapType:
		return &ast.MapType{Key: in.expr(e.Key), Value: in.expr(e.Value)}
	case *ast.FuncType:
		return &ast.FuncType{Params: in.fields(e.Params), Results: in.fields(e.Results)}
	case *ast.StructType:
		return &ast.StructType{Fields: in.fields(e.Fields)}
	}
	fail("expression %T is not supported in templates", e)
	return nil
}

func (in *inst) fields(fl *ast.FieldList) *ast.FieldList {
	if fl == nil {
		return nil
	}
	r := &ast.FieldList{}
	for _, f := range fl.List {
		nf := &ast.Field{Type: in.expr(f.Type)}
		for _, n := range f.Names {
			nf.Names = append(nf.Names, ident(n.Name))
		}
		r.List = append(r.List, nf)
	}
	return r
}

// ident rewrites a name: the shape (only as s.F), type parameters,
// substituted names, groups, package-level helpers.
func (in *inst) ident(id *ast.Ident) ast.Expr {
	if id.Obj != nil {
		switch {
		case id.Obj == in.sObj:
			fail("the shape %s is used other than as %s.Field", id.Name, id.Name)
		case in.types[id.Obj] != "":
			return ident(in.types[id.Obj])
		case in.subst[id.Obj] != nil:
			return cloneExpr(in.subst[id.Obj])
		case in.omitted[id.Obj] != "":
			return ident(omittedPrefix + id.Name)
		}
		if _, ok := in.groups[id.Obj]; ok {
			fail("parameter group %s is used other than in range, len or with a constant index", id.Name)
		}
		if _, ok := in.nests[id.Obj]; ok {
			fail("loop nest variable %s is used other than as %s[k], k constant", id.Name, id.Name)
		}
	}
	if in.isPackageLevel(id) {
		in.helper(id.Name)
	}
	return &ast.Ident{Name: id.Name, Obj: id.Obj}
}

// omittedPrefix marks an omitted parameter's uses until the end, when
// one left as a call argument becomes nil (finish).
const omittedPrefix = "omitted__"

// isPackageLevel reports whether id names a package-level declaration
// of the template package: unresolved (declared in another file), or
// resolved to a declaration outside the function being rewritten.
func (in *inst) isPackageLevel(id *ast.Ident) bool {
	return in.set.isPackageLevel(id, in.fd)
}

func (s *Set) isPackageLevel(id *ast.Ident, within ast.Node) bool {
	if s.decls[id.Name] == nil {
		return false
	}
	if id.Obj == nil {
		return true
	}
	d, ok := id.Obj.Decl.(ast.Node)
	if !ok {
		return false
	}
	return d.Pos() < within.Pos() || d.Pos() >= within.End()
}

// helper records a package-level declaration the instance uses, and
// those it uses in turn.
func (in *inst) helper(name string) {
	if in.helpers[name] {
		return
	}
	d := in.set.decls[name]
	if fd, ok := d.(*ast.FuncDecl); ok && fd.Type.Params != nil && len(fd.Type.Params.List) > 0 {
		if t, ok := fd.Type.Params.List[0].Type.(*ast.Ident); ok && strings.HasSuffix(t.Name, "Shape") {
			fail("calls template %s, which needs a shape: templates do not call templates", name)
		}
	}
	in.helpers[name] = true
	in.helperRefs(d)
	// Methods of a helper type come with it.
	for _, f := range in.set.fileList() {
		for _, md := range f.Decls {
			if fd, ok := md.(*ast.FuncDecl); ok && fd.Recv != nil && recvName(fd) == name {
				in.helperRefs(fd)
			}
		}
	}
}

// helperRefs records the package-level names a declaration uses.
func (in *inst) helperRefs(d ast.Node) {
	sels := map[*ast.Ident]bool{}
	ast.Inspect(d, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			sels[n.Sel] = true
		case *ast.Ident:
			if !sels[n] && in.set.isPackageLevel(n, d) {
				in.helper(n.Name)
			}
		}
		return true
	})
}

// recvName is the name of a method's receiver type.
func recvName(fd *ast.FuncDecl) string {
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// shapePath returns the field path of s.A.B…, if e is one.
func (in *inst) shapePath(e ast.Expr) ([]string, bool) {
	var path []string
	for {
		switch x := e.(type) {
		case *ast.SelectorExpr:
			path = append([]string{x.Sel.Name}, path...)
			e = x.X
		case *ast.Ident:
			return path, x.Obj != nil && x.Obj == in.sObj && len(path) > 0
		default:
			return nil, false
		}
	}
}

// field returns the value at path in the shape.
func (in *inst) field(path []string) reflect.Value {
	v := in.shape
	for _, p := range path {
		if v.Kind() != reflect.Struct {
			fail("s.%s: %s is not a struct", strings.Join(path, "."), v.Type())
		}
		v = v.FieldByName(p)
		if !v.IsValid() {
			fail("s.%s: no field %s", strings.Join(path, "."), p)
		}
	}
	return v
}

// hookOf returns the hook bound to s.F, if path is one field with one.
func (in *inst) hookOf(path []string) (Hook, bool) {
	if len(path) != 1 {
		return nil, false
	}
	h, ok := in.b.Hooks[path[0]]
	return h, ok
}

// shapeValue is the expression a shape field used as a value becomes.
func (in *inst) shapeValue(path []string) ast.Expr {
	if h, ok := in.hookOf(path); ok {
		if v, ok := h.(Var); ok {
			return ident(v.Name)
		}
		fail("hook s.%s is used other than as its call", path[0])
	}
	v := in.field(path)
	switch v.Interface().(type) {
	case ir.Dim:
		fail("s.%s is a size in n: use s.%[1]s.At(n)", strings.Join(path, "."))
	case Nest:
		fail("s.%s is a loop nest: use it as for p := range s.%[1]s.Each(n, …)", strings.Join(path, "."))
	}
	e := literal(v, "s."+strings.Join(path, "."))
	in.fromShape[e] = true
	return e
}

// literal is a Go expression of value v (a number, bool, string, or an
// array or slice of them).
func literal(v reflect.Value, what string) ast.Expr {
	switch v.Kind() {
	case reflect.Bool:
		return ident(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intLit(int(v.Int()))
	case reflect.Float32, reflect.Float64:
		return floatLit(v.Float())
	case reflect.String:
		return &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(v.String())}
	case reflect.Func, reflect.Interface:
		fail("%s is a hook: bind it in Binding.Hooks", what)
	case reflect.Slice, reflect.Array:
		elts := make([]ast.Expr, v.Len())
		for i := range elts {
			elts[i] = literal(v.Index(i), what)
		}
		return &ast.CompositeLit{Type: &ast.ArrayType{Len: &ast.Ellipsis{}, Elt: ident(v.Type().Elem().Name())}, Elts: elts}
	}
	fail("%s is a %s, which has no literal", what, v.Type())
	return nil
}

// intLit is i as a literal, a negative one as − applied to its
// magnitude (unsigned, as the least int has no positive int).
func intLit(i int) ast.Expr {
	if i < 0 {
		return &ast.UnaryExpr{Op: token.SUB, X: &ast.BasicLit{Kind: token.INT, Value: strconv.FormatUint(-uint64(i), 10)}}
	}
	return &ast.BasicLit{Kind: token.INT, Value: strconv.Itoa(i)}
}

// floatLit is a literal that parses back to f, always of float kind.
func floatLit(f float64) ast.Expr {
	switch {
	case math.IsInf(f, 1):
		return mustExpr("math.Inf(1)")
	case math.IsInf(f, -1):
		return mustExpr("math.Inf(-1)")
	case math.IsNaN(f):
		return mustExpr("math.NaN()")
	case f == 0 && math.Signbit(f):
		return mustExpr("math.Copysign(0, -1)")
	case f < 0:
		return &ast.UnaryExpr{Op: token.SUB, X: floatLit(-f)}
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return &ast.BasicLit{Kind: token.FLOAT, Value: s}
}

// dimExpr is a Go expression for d with the batch in n.
func dimExpr(d ir.Dim) ast.Expr {
	switch {
	case d.A == 0:
		return intLit(d.B)
	case d.A == 1 && d.B == 0:
		return ident("n")
	case d.B == 0:
		return mustExpr(fmt.Sprintf("(%d * n)", d.A))
	}
	return mustExpr(fmt.Sprintf("(%d*n + %d)", d.A, d.B))
}

// call rewrites a call: s.F.At(n), hooks, len of a group.
func (in *inst) call(e *ast.CallExpr) ast.Expr {
	if sel, ok := e.Fun.(*ast.SelectorExpr); ok {
		if path, ok := in.shapePath(sel.X); ok && sel.Sel.Name == "At" {
			if d, ok := in.field(path).Interface().(ir.Dim); ok {
				if len(e.Args) != 1 || !isIdent(e.Args[0], "n") {
					fail("s.%s.At takes n", strings.Join(path, "."))
				}
				r := dimExpr(d)
				if d.A == 0 {
					in.fromShape[r] = true
				}
				return r
			}
		}
		if path, ok := in.shapePath(sel.X); ok {
			if _, ok := in.hookOf(path); ok {
				fail("s.%s.%s is used outside the forms of its hook", path[0], sel.Sel.Name)
			}
		}
	}
	if path, ok := in.shapePath(e.Fun); ok {
		if h, ok := in.hookOf(path); ok {
			switch h := h.(type) {
			case Inline:
				return in.inline(h, in.exprs(e.Args), path[0])
			case Call:
				return &ast.CallExpr{Fun: ident(h.Func), Args: in.callArgs(e.Args)}
			}
			fail("hook s.%s (%T) is used as an expression", path[0], h)
		}
	}
	if id, ok := e.Fun.(*ast.Ident); ok && id.Obj == nil && id.Name == "len" && len(e.Args) == 1 {
		if a, ok := e.Args[0].(*ast.Ident); ok && a.Obj != nil {
			if g, ok := in.groups[a.Obj]; ok {
				return intLit(g.k)
			}
		}
	}
	return &ast.CallExpr{Fun: in.expr(e.Fun), Args: in.callArgs(e.Args), Ellipsis: e.Ellipsis}
}

// callArgs rewrites a call's arguments, where an omitted parameter may
// stand (it becomes nil).
func (in *inst) callArgs(args []ast.Expr) []ast.Expr {
	return in.exprs(args)
}

// index rewrites x[i]: a loop nest's offset, a group's member, a
// shape slice's element.
func (in *inst) index(e *ast.IndexExpr) ast.Expr {
	if x, ok := e.X.(*ast.Ident); ok && x.Obj != nil {
		if offs, ok := in.nests[x.Obj]; ok {
			k := in.constIndex(e.Index, x.Name, len(offs))
			return cloneExpr(offs[k])
		}
		if g, ok := in.groups[x.Obj]; ok {
			k := in.constIndex(e.Index, x.Name, g.k)
			return ident(fmt.Sprintf("%s%d", g.name, k))
		}
	}
	idx := in.expr(e.Index)
	if path, ok := in.shapePath(e.X); ok {
		if _, ok := in.hookOf(path); ok {
			return &ast.IndexExpr{X: in.expr(e.X), Index: idx}
		}
		v := in.field(path)
		if (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && isIntLit(idx) {
			k, _ := strconv.Atoi(idx.(*ast.BasicLit).Value)
			if k >= v.Len() {
				fail("s.%s[%d] is out of range (%d elements)", strings.Join(path, "."), k, v.Len())
			}
			r := literal(v.Index(k), "s."+strings.Join(path, "."))
			in.fromShape[r] = true
			return r
		}
	}
	return &ast.IndexExpr{X: in.expr(e.X), Index: idx}
}

// constIndex evaluates the index of a nest variable or group, which must
// be a constant below n.
func (in *inst) constIndex(e ast.Expr, what string, n int) int {
	r := in.expr(e)
	if !isIntLit(r) {
		fail("%s[%s]: the index must be constant", what, exprString(e))
	}
	k, _ := strconv.Atoi(r.(*ast.BasicLit).Value)
	if k >= n {
		fail("%s[%d] is out of range (%d)", what, k, n)
	}
	return k
}

// inline substitutes a call of an Inline hook.
func (in *inst) inline(h Inline, args []ast.Expr, field string) ast.Expr {
	fd, ok := in.set.funcs[h.Func]
	if !ok {
		fail("hook s.%s: no function %s to inline", field, h.Func)
	}
	if len(fd.Body.List) != 1 {
		fail("hook s.%s: %s is not one return statement", field, h.Func)
	}
	ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		fail("hook s.%s: %s is not one return statement", field, h.Func)
	}
	for _, a := range h.Args {
		args = append(args, literal(reflect.ValueOf(a), h.Func+"'s argument"))
	}
	var params []*ast.Ident
	for _, f := range fd.Type.Params.List {
		params = append(params, f.Names...)
	}
	if len(params) != len(args) {
		fail("hook s.%s: %s takes %d arguments, given %d", field, h.Func, len(params), len(args))
	}
	uses := map[*ast.Object]int{}
	ast.Inspect(ret.Results[0], func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Obj != nil {
			uses[id.Obj]++
		}
		return true
	})
	// The inlined function's parameters are substituted in a copy of its
	// result, rewritten in the template's context (the helpers it calls).
	sub := &inst{set: in.set, fd: fd, file: in.set.files[fd], b: Binding{}, omitted: map[*ast.Object]string{},
		groups: map[*ast.Object]group{}, types: map[*ast.Object]string{}, subst: map[*ast.Object]ast.Expr{},
		nests: map[*ast.Object][]ast.Expr{}, fromShape: in.fromShape, taken: in.taken, helpers: in.helpers, orig: in.orig, consts: in.consts}
	for i, p := range params {
		a := args[i]
		if uses[p.Obj] > 1 && !isSimple(a) {
			fail("hook s.%s: %s uses %s %d times, so its argument must be a name or literal, not %s", field, h.Func, p.Name, uses[p.Obj], exprString(a))
		}
		if !isSimple(a) {
			a = &ast.ParenExpr{X: a}
		}
		sub.subst[p.Obj] = a
	}
	return &ast.ParenExpr{X: sub.expr(ret.Results[0])}
}

// isSimple reports whether e may be repeated: a name or a literal.
func isSimple(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident, *ast.BasicLit:
		return true
	case *ast.UnaryExpr:
		_, ok := e.X.(*ast.BasicLit)
		return ok && e.Op == token.SUB
	case *ast.ParenExpr:
		return isSimple(e.X)
	}
	return false
}

// tableCall rewrites the statement s.H(k, args…) of a Table hook.
func (in *inst) tableCall(call *ast.CallExpr) ([]ast.Stmt, bool) {
	path, ok := in.shapePath(call.Fun)
	if !ok {
		return nil, false
	}
	h, ok := in.hookOf(path)
	if !ok {
		return nil, false
	}
	t, ok := h.(Table)
	if !ok {
		return nil, false
	}
	if len(call.Args) < 1 {
		fail("table s.%s is called without its key", path[0])
	}
	if len(t.Funcs) == 0 {
		fail("table s.%s has no functions", path[0])
	}
	args := in.callArgs(call.Args[1:])
	keys := make([]int, 0, len(t.Funcs))
	for k := range t.Funcs {
		keys = append(keys, k)
	}
	sortInts(keys)
	if len(keys) == 1 {
		return []ast.Stmt{&ast.ExprStmt{X: &ast.CallExpr{Fun: ident(t.Funcs[keys[0]]), Args: args}}}, true
	}
	sw := &ast.SwitchStmt{Tag: in.expr(call.Args[0]), Body: &ast.BlockStmt{}}
	for _, k := range keys {
		sw.Body.List = append(sw.Body.List, &ast.CaseClause{List: []ast.Expr{intLit(k)},
			Body: []ast.Stmt{&ast.ExprStmt{X: &ast.CallExpr{Fun: ident(t.Funcs[k]), Args: cloneExprs(args)}}}})
	}
	return []ast.Stmt{sw}, true
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// dispatchOf returns the Dispatch hook and the arguments of a call
// s.H.method(args…).
func (in *inst) dispatchOf(e ast.Expr, method string) (Dispatch, []ast.Expr, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return Dispatch{}, nil, false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != method {
		return Dispatch{}, nil, false
	}
	path, ok := in.shapePath(sel.X)
	if !ok {
		return Dispatch{}, nil, false
	}
	h, ok := in.hookOf(path)
	if !ok {
		return Dispatch{}, nil, false
	}
	d, ok := h.(Dispatch)
	if !ok {
		fail("s.%s.%s: the hook is a %T, not a Dispatch", path[0], method, h)
	}
	return d, call.Args, true
}

// kernelCall is the call of case c's kernel on args.
func (in *inst) kernelCall(c Case, args []ast.Expr) *ast.CallExpr {
	as := cloneExprs(args)
	for _, i := range c.Nil {
		if i < 0 || i >= len(as) {
			fail("dispatch case %s: argument %d to pass as nil does not exist", c.Func, i)
		}
		as[i] = ident("nil")
	}
	return &ast.CallExpr{Fun: ident(c.Func), Args: as}
}

// dispatchIf rewrites `if s.H.Run(…) { S }` and `if !s.H.Run(…) { F }`
// (with `if s.H.GoEpi() { E }` after it, next, which took reports
// consumed).
func (in *inst) dispatchIf(s *ast.IfStmt, next *ast.IfStmt) (out []ast.Stmt, took, ok bool) {
	cond, neg := s.Cond, false
	if u, isNot := cond.(*ast.UnaryExpr); isNot && u.Op == token.NOT {
		cond, neg = u.X, true
	}
	d, args, ok := in.dispatchOf(cond, "Run")
	if !ok {
		return nil, false, false
	}
	if s.Init != nil || s.Else != nil {
		fail("a dispatch if has no init statement and no else")
	}
	args = in.callArgs(args)
	body := in.block(s.Body).List
	var epi []ast.Stmt
	if neg && next != nil && next.Init == nil && next.Else == nil {
		if _, eargs, ok := in.dispatchOf(next.Cond, "GoEpi"); ok {
			if len(eargs) != 0 {
				fail("GoEpi takes no arguments")
			}
			epi, took = in.block(next.Body).List, true
		}
	}
	if len(d.Cases) == 0 {
		if !neg {
			return nil, took, true
		}
		return append(body, epi...), took, true
	}
	sw := &ast.SwitchStmt{Body: &ast.BlockStmt{}}
	for _, c := range d.Cases {
		cs := []ast.Stmt{&ast.ExprStmt{X: in.kernelCall(c, args)}}
		if !neg {
			cs = append(cs, cloneStmts(body)...)
		} else if c.GoEpi {
			if !took {
				fail("dispatch case %s leaves the epilogue to Go, but no `if s.H.GoEpi() { … }` follows", c.Func)
			}
			cs = append(cs, cloneStmts(epi)...)
		}
		sw.Body.List = append(sw.Body.List, &ast.CaseClause{List: []ast.Expr{ident(c.Cond)}, Body: cs})
	}
	if neg {
		sw.Body.List = append(sw.Body.List, &ast.CaseClause{Body: append(body, epi...)})
	}
	return []ast.Stmt{sw}, took, true
}

// dispatchAssign rewrites v := s.H.Run(…).
func (in *inst) dispatchAssign(s *ast.AssignStmt) ([]ast.Stmt, bool) {
	if len(s.Rhs) != 1 {
		return nil, false
	}
	d, args, ok := in.dispatchOf(s.Rhs[0], "Run")
	if !ok {
		return nil, false
	}
	if len(s.Lhs) != 1 || s.Tok != token.DEFINE {
		fail("a dispatch result is defined alone: v := s.H.Run(…)")
	}
	v := s.Lhs[0].(*ast.Ident).Name
	args = in.callArgs(args)
	out := []ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{ident(v)}, Tok: token.DEFINE, Rhs: []ast.Expr{intLit(0)}}}
	if len(d.Cases) == 0 {
		return out, true
	}
	sw := &ast.SwitchStmt{Body: &ast.BlockStmt{}}
	for _, c := range d.Cases {
		sw.Body.List = append(sw.Body.List, &ast.CaseClause{List: []ast.Expr{ident(c.Cond)},
			Body: []ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{ident(v)}, Tok: token.ASSIGN, Rhs: []ast.Expr{in.kernelCall(c, args)}}}})
	}
	return append(out, sw), true
}

// unroll rewrites `for i, x := range xs` over a parameter group: one
// block per member, i and x bound to its index and parameter.
func (in *inst) unroll(s *ast.RangeStmt) ([]ast.Stmt, bool) {
	xs, ok := s.X.(*ast.Ident)
	if !ok || xs.Obj == nil {
		return nil, false
	}
	g, ok := in.groups[xs.Obj]
	if !ok {
		return nil, false
	}
	var out []ast.Stmt
	for k := range g.k {
		if key, ok := s.Key.(*ast.Ident); ok && key.Name != "_" {
			in.subst[key.Obj] = intLit(k)
		}
		if val, ok := s.Value.(*ast.Ident); ok && val.Name != "_" {
			in.subst[val.Obj] = ident(fmt.Sprintf("%s%d", g.name, k))
		}
		out = append(out, in.block(s.Body))
	}
	return out, true
}

// isIdent reports whether e is the name name.
func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isIntLit(e ast.Expr) bool {
	l, ok := e.(*ast.BasicLit)
	return ok && l.Kind == token.INT
}

func ident(name string) *ast.Ident { return &ast.Ident{Name: name} }

// mustExpr parses an expression the engine writes itself.
func mustExpr(src string) ast.Expr {
	e, err := parser.ParseExpr(src)
	if err != nil {
		panic("BUG: tmpl: " + src + ": " + err.Error())
	}
	return zeroPos(e)
}
