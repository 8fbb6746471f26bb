package tmpl

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"reflect"
	"sort"
	"strings"
)

// finish prints the folded body, parses it back (to resolve its names
// afresh), drops the variables pruning left unused, turns omitted
// parameters passed as arguments into nil and checks that nothing else
// is left unused or omitted; it returns the body's statements.
func (in *inst) finish(fn *Func, body *ast.BlockStmt) string {
	var params []string
	for _, p := range fn.Params {
		params = append(params, p.Name+" "+p.Type)
	}
	tidyParens(body)
	src := "package p\n\nfunc kernel(" + strings.Join(params, ", ") + ") " + fn.Result + " " + nodeString(body) + "\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil {
		fail("the specialised body does not parse: %v\n%s", err, src)
	}
	kf := f.Decls[0].(*ast.FuncDecl)
	nilVars(kf)
	for removeUnused(kf) {
	}
	nilOmitted(kf)
	fn.Unused = map[string]bool{}
	occ := occurrences(kf)
	for _, f := range kf.Type.Params.List {
		for _, id := range f.Names {
			if occ[id.Obj][reads] == 0 {
				fn.Unused[id.Name] = true
			}
		}
	}
	if name := firstUnused(kf); name != "" {
		fail("%s is declared and not used once specialised\n%s", name, nodeString(kf.Body))
	}
	var b bytes.Buffer
	for _, s := range kf.Body.List {
		if err := format.Node(&b, fset, s); err != nil {
			fail("printing: %v", err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// tidyParens drops the parentheses substitution left where they do not
// matter: around a primary expression, or as a whole argument,
// assignment value, index, return value or element.
func tidyParens(n ast.Node) {
	strip := func(e ast.Expr) ast.Expr {
		for {
			p, ok := e.(*ast.ParenExpr)
			if !ok {
				return e
			}
			e = p.X
		}
	}
	all := func(es []ast.Expr) {
		for i, e := range es {
			es[i] = strip(e)
		}
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ParenExpr:
			if primary(strip(n.X)) {
				n.X = strip(n.X)
			}
		case *ast.CallExpr:
			all(n.Args)
		case *ast.AssignStmt:
			all(n.Rhs)
		case *ast.ValueSpec:
			all(n.Values)
		case *ast.IndexExpr:
			n.Index = strip(n.Index)
		case *ast.SliceExpr:
			n.Low, n.High, n.Max = stripNil(n.Low, strip), stripNil(n.High, strip), stripNil(n.Max, strip)
		case *ast.ReturnStmt:
			all(n.Results)
		case *ast.CompositeLit:
			all(n.Elts)
		case *ast.ExprStmt:
			n.X = strip(n.X)
		case *ast.IfStmt:
			n.Cond = strip(n.Cond)
		case *ast.ForStmt:
			n.Cond = stripNil(n.Cond, strip)
		case *ast.BinaryExpr:
			if p, ok := n.X.(*ast.ParenExpr); ok && primary(strip(p)) {
				n.X = strip(p)
			}
			if p, ok := n.Y.(*ast.ParenExpr); ok && primary(strip(p)) {
				n.Y = strip(p)
			}
		}
		return true
	})
}

func stripNil(e ast.Expr, strip func(ast.Expr) ast.Expr) ast.Expr {
	if e == nil {
		return nil
	}
	return strip(e)
}

// primary reports whether e needs no parentheses anywhere.
func primary(e ast.Expr) bool {
	switch e.(type) {
	case *ast.Ident, *ast.BasicLit, *ast.CallExpr, *ast.IndexExpr, *ast.SelectorExpr, *ast.SliceExpr, *ast.CompositeLit, *ast.ParenExpr, *ast.IndexListExpr:
		return true
	}
	return false
}

// nodeString prints a node the engine built or rewrote.
func nodeString(n ast.Node) string {
	var b bytes.Buffer
	if err := format.Node(&b, token.NewFileSet(), n); err != nil {
		fail("printing: %v", err)
	}
	return b.String()
}

// exprString prints an expression of a template.
func exprString(e ast.Expr) string { return nodeString(zeroPos(e)) }

// use is how a name occurs.
type use int

const (
	declares use = iota
	writes
	reads
)

// occurrences classifies every name in fd's body by object.
func occurrences(fd *ast.FuncDecl) map[*ast.Object]map[use]int {
	occ := map[*ast.Object]map[use]int{}
	mark := func(id *ast.Ident, u use) {
		if id.Obj == nil || id.Obj.Kind != ast.Var {
			return
		}
		if occ[id.Obj] == nil {
			occ[id.Obj] = map[use]int{}
		}
		occ[id.Obj][u]++
	}
	skip := map[*ast.Ident]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					skip[id] = true
					switch {
					case n.Tok == token.DEFINE && id.Obj != nil && id.Obj.Decl == n:
						mark(id, declares)
					default:
						mark(id, writes)
					}
				}
			}
		case *ast.IncDecStmt:
			if id, ok := n.X.(*ast.Ident); ok {
				skip[id] = true
				mark(id, writes)
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				skip[id] = true
				mark(id, declares)
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok {
					skip[id] = true
					if n.Tok == token.DEFINE {
						mark(id, declares)
					} else {
						mark(id, writes)
					}
				}
			}
		case *ast.FuncLit:
			for _, f := range n.Type.Params.List {
				for _, id := range f.Names {
					skip[id] = true
				}
			}
		case *ast.Ident:
			if !skip[n] {
				mark(n, reads)
			}
		}
		return true
	})
	return occ
}

// unused reports whether obj, a local variable, is never read.
func unused(occ map[*ast.Object]map[use]int, obj *ast.Object) bool {
	o := occ[obj]
	return o != nil && o[declares] > 0 && o[reads] == 0
}

// removeUnused drops the declarations and assignments of variables that
// are never read, where their values have no effects (pure); it reports
// whether it changed anything.
func removeUnused(fd *ast.FuncDecl) bool {
	occ := occurrences(fd)
	dead := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		// A blank assignment stays: the template wrote it (a bounds hint).
		return ok && id.Name != "_" && id.Obj != nil && unused(occ, id.Obj)
	}
	changed := false
	var list func([]ast.Stmt) []ast.Stmt
	var node func(n ast.Node)
	list = func(ss []ast.Stmt) []ast.Stmt {
		out := ss[:0]
		for _, s := range ss {
			switch s := s.(type) {
			case *ast.AssignStmt:
				if len(s.Lhs) == len(s.Rhs) {
					var lhs, rhs []ast.Expr
					for i, l := range s.Lhs {
						if dead(l) && pure(s.Rhs[i]) {
							changed = true
							continue
						}
						lhs, rhs = append(lhs, l), append(rhs, s.Rhs[i])
					}
					if len(lhs) == 0 {
						continue
					}
					if len(lhs) < len(s.Lhs) {
						s.Lhs, s.Rhs = lhs, rhs
						if s.Tok == token.DEFINE && !definesNew(s) {
							s.Tok = token.ASSIGN
						}
					}
				}
			case *ast.IncDecStmt:
				if dead(s.X) {
					changed = true
					continue
				}
			case *ast.DeclStmt:
				if gd, ok := s.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
					var specs []ast.Spec
					for _, sp := range gd.Specs {
						vs := sp.(*ast.ValueSpec)
						all := true
						for i, n := range vs.Names {
							if !dead(n) || (i < len(vs.Values) && !pure(vs.Values[i])) {
								all = false
							}
						}
						if all {
							changed = true
							continue
						}
						specs = append(specs, vs)
					}
					if len(specs) == 0 {
						continue
					}
					gd.Specs = specs
				}
			case *ast.RangeStmt:
				if s.Tok == token.DEFINE {
					if s.Value != nil && dead(s.Value) {
						s.Value, changed = nil, true
						if isIdent(s.Key, "_") {
							s.Key = nil
						}
					}
					if s.Key != nil && s.Value == nil && dead(s.Key) {
						s.Key, s.Tok, changed = nil, token.ILLEGAL, true
					} else if s.Key != nil && s.Value != nil && dead(s.Key) && !isIdent(s.Key, "_") {
						s.Key, changed = ident("_"), true
					}
				}
			}
			node(s)
			out = append(out, s)
		}
		return out
	}
	node = func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BlockStmt:
				n.List = list(n.List)
				return false
			case *ast.CaseClause:
				n.Body = list(n.Body)
				return false
			}
			return true
		})
	}
	fd.Body.List = list(fd.Body.List)
	return changed
}

// nilVars replaces a slice variable declared without a value and never
// assigned (what a pruned `if s.Flag { x = … }` leaves) by nil.
func nilVars(fd *ast.FuncDecl) {
	occ := occurrences(fd)
	nils := map[*ast.Object]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Values) == 0 && len(vs.Names) == 1 {
			if at, ok := vs.Type.(*ast.ArrayType); ok && at.Len == nil {
				if o := vs.Names[0].Obj; o != nil && occ[o][writes] == 0 && !addressed(fd, o) {
					nils[o] = true
				}
			}
		}
		return true
	})
	// Only where every use is an argument of a function (nil has no
	// length, and append(nil, …) no type).
	args := map[*ast.Ident]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if id, ok := c.Fun.(*ast.Ident); ok && id.Obj == nil && builtins[id.Name] {
				return true
			}
			for _, a := range c.Args {
				if id, ok := a.(*ast.Ident); ok {
					args[id] = true
				}
			}
		}
		return true
	})
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && nils[id.Obj] && !args[id] {
			if _, decl := id.Obj.Decl.(*ast.ValueSpec); !decl || id.Obj.Decl.(*ast.ValueSpec).Names[0] != id {
				delete(nils, id.Obj)
			}
		}
		return true
	})
	if len(nils) == 0 {
		return
	}
	var list func([]ast.Stmt) []ast.Stmt
	list = func(ss []ast.Stmt) []ast.Stmt {
		out := ss[:0]
		for _, s := range ss {
			if d, ok := s.(*ast.DeclStmt); ok {
				if gd, ok := d.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR && len(gd.Specs) == 1 {
					if vs := gd.Specs[0].(*ast.ValueSpec); len(vs.Names) == 1 && nils[vs.Names[0].Obj] {
						continue
					}
				}
			}
			out = append(out, s)
		}
		return out
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BlockStmt:
			n.List = list(n.List)
		case *ast.CaseClause:
			n.Body = list(n.Body)
		case *ast.Ident:
			if nils[n.Obj] {
				n.Name, n.Obj = "nil", nil
			}
		}
		return true
	})
}

// builtins are Go's builtin functions, whose arguments are not plain
// values of a declared type.
var builtins = map[string]bool{"append": true, "cap": true, "clear": true, "close": true, "complex": true, "copy": true,
	"delete": true, "imag": true, "len": true, "make": true, "max": true, "min": true, "new": true, "panic": true,
	"print": true, "println": true, "real": true, "recover": true}

// addressed reports whether obj's address is taken in fd.
func addressed(fd *ast.FuncDecl, obj *ast.Object) bool {
	found := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if u, ok := n.(*ast.UnaryExpr); ok && u.Op == token.AND {
			if id, ok := u.X.(*ast.Ident); ok && id.Obj == obj {
				found = true
			}
		}
		return !found
	})
	return found
}

// definesNew reports whether a define still declares a new name.
func definesNew(s *ast.AssignStmt) bool {
	for _, l := range s.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Obj != nil && id.Obj.Decl == s {
			return true
		}
	}
	return false
}

// nilOmitted turns omitted parameters passed as call arguments into nil
// and fails on any other use.
func nilOmitted(fd *ast.FuncDecl) {
	args := map[*ast.Ident]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			for _, a := range c.Args {
				if id, ok := a.(*ast.Ident); ok && strings.HasPrefix(id.Name, omittedPrefix) {
					args[id] = true
				}
			}
		}
		if id, ok := n.(*ast.Ident); ok && strings.HasPrefix(id.Name, omittedPrefix) {
			if !args[id] {
				fail("uses the omitted parameter %s other than as a call argument", strings.TrimPrefix(id.Name, omittedPrefix))
			}
			id.Name = "nil"
		}
		return true
	})
}

// firstUnused returns the first local variable never read, if any.
func firstUnused(fd *ast.FuncDecl) string {
	occ := occurrences(fd)
	var names []string
	for obj := range occ {
		if unused(occ, obj) && obj.Name != "_" {
			names = append(names, obj.Name)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

// helperSource prints a package-level declaration with its comments,
// and a type's methods after it.
func (s *Set) helperSource(name string) string {
	return s.Source(name)
}

// Source returns the source of the package-level declaration name (its
// doc comment, and a type's methods after it), as a helper is copied;
// it panics if there is none.
func (s *Set) Source(name string) string {
	if s.decls[name] == nil {
		panic("BUG: tmpl: no declaration " + name + " in package " + s.pkg)
	}
	d := s.decls[name]
	f := s.files[d]
	var b bytes.Buffer
	if err := format.Node(&b, s.fset, &printer.CommentedNode{Node: d, Comments: f.Comments}); err != nil {
		panic("BUG: tmpl: printing " + name + ": " + err.Error())
	}
	b.WriteByte('\n')
	for _, f := range s.fileList() {
		for _, md := range f.Decls {
			if fd, ok := md.(*ast.FuncDecl); ok && fd.Recv != nil && recvName(fd) == name {
				b.WriteByte('\n')
				if err := format.Node(&b, s.fset, &printer.CommentedNode{Node: fd, Comments: f.Comments}); err != nil {
					panic("BUG: tmpl: printing " + name + ": " + err.Error())
				}
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// fileList returns the set's files in a stable order.
func (s *Set) fileList() []*ast.File {
	var fs []*ast.File
	seen := map[*ast.File]bool{}
	for _, f := range s.files {
		if !seen[f] {
			seen[f] = true
			fs = append(fs, f)
		}
	}
	sort.Slice(fs, func(i, j int) bool {
		return s.fset.Position(fs[i].Pos()).Filename < s.fset.Position(fs[j].Pos()).Filename
	})
	return fs
}

// cloneExpr copies an expression without positions.
func cloneExpr(e ast.Expr) ast.Expr { return zeroPos(e) }

func cloneExprs(es []ast.Expr) []ast.Expr {
	r := make([]ast.Expr, len(es))
	for i, e := range es {
		r[i] = cloneExpr(e)
	}
	return r
}

func cloneStmts(ss []ast.Stmt) []ast.Stmt {
	r := make([]ast.Stmt, len(ss))
	for i, s := range ss {
		r[i] = deepCopy(reflect.ValueOf(s)).Interface().(ast.Stmt)
	}
	return r
}

// zeroPos returns a deep copy of e with every position cleared (names
// keep their objects).
func zeroPos[T ast.Node](n T) T {
	return deepCopy(reflect.ValueOf(n)).Interface().(T)
}

var (
	posType    = reflect.TypeOf(token.NoPos)
	objType    = reflect.TypeOf((*ast.Object)(nil))
	scopeType  = reflect.TypeOf((*ast.Scope)(nil))
	commentTyp = reflect.TypeOf((*ast.CommentGroup)(nil))
)

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		switch v.Type() {
		case objType:
			return v
		case scopeType, commentTyp:
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if v.Type().Field(i).Type == posType {
				continue
			}
			n.Field(i).Set(deepCopy(v.Field(i)))
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(deepCopy(v.Elem()))
		return n
	}
	return v
}
