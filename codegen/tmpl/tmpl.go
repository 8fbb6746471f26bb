// Package tmpl specialises Go functions into generated code through
// go/ast: parse, rewrite, print. A template is an ordinary Go function in
// a template package (codegen/kernels, codegen/isa/driver/drivers), which
// compiles and is unit-tested there as Go; Instantiate rewrites a copy of
// its body for one shape and hands back the parameters and body of the
// generated function. A typo in a template fails its package's build or
// tests; a bad substitution is a BUG error naming the template.
//
// # Shape
//
// A template's first parameter is its shape: a struct whose fields are
// the specialisation points (codegen/kernels names it s, the drivers sh).
// Binding.Shape holds its value, and each use of a field becomes:
//
//   - s.F, a number, bool or string: a literal (a float64 prints so it
//     parses back to the same float64; ±Inf and NaN as math calls; a
//     string joined with a literal is one literal);
//   - s.F, a slice of those: an array literal; s.F[k] with k constant
//     after substitution (an unrolled index): the element's literal;
//   - s.F.At(n), F an ir.Dim (a size affine in the batch n): a literal,
//     or an expression in n;
//   - for p := range s.F.Each(n, base…), F a Nest: the loop nest itself
//     (see Nest), p[k] standing for operand k's offset;
//   - a field of an embedded struct, as Go promotes it;
//   - a hook (a field named in Binding.Hooks), in the forms its type
//     documents: Inline (an expression: an op's formula), Call (a function
//     another emitter writes), Var (a table another emitter writes), Table
//     (a switch over a microkernel table) and Dispatch (the tier switch
//     over the targets' kernels).
//
// # Folding
//
// Then the body is simplified, in statement order:
//
//   - an if or switch whose condition is constant keeps only the branch
//     taken, spliced into its block where no name clashes (so if s.Bias
//     { … } costs nothing when false), and && and || with a constant
//     operand fold; code after a return goes;
//   - a define whose values are shape fields (maybe converted) or
//     integer constant expressions, and whose names are never assigned
//     again, becomes const declarations: I, Eps := s.I, s.Eps gives
//     const I int = 48 and const Eps = 1e-05, so sizes stay literals to
//     the compiler and the reader. Integers are typed, so arithmetic
//     means what it meant on the template's variables (1.0/I divides
//     integers in both). A define that also holds other values is split;
//   - x := make([]T, c) with c constant becomes a stack array (var xArr
//     [c]T; x := xArr[:]), as does var x []T followed by x = make([]T, c);
//     var x T followed by its only assignment x = e becomes var x T = e,
//     and a slice never assigned is nil where it is passed;
//   - variables pruning left unused are dropped when their values have no
//     effects (a blank assignment the template wrote stays: a bounds
//     hint); any other unused variable is an error.
//
// # Parameters
//
// The other parameters are the generated function's, named as in the
// template (Func.Params). Binding.Omit lists parameters it lacks (an
// absent bias): a remaining use must be a call argument, which becomes
// nil. A [][]T parameter listed in Binding.Groups stands for k
// parameters (xs0, xs1, …): `for i, x := range xs` over it is unrolled,
// len(xs) is k and xs[c] is parameter c. Type parameters are bound by
// Binding.Types. Binding.Serial turns a template written for a chunk
// [lo, hi) into a function without those parameters, running the whole
// range.
//
// A template may call package-level functions and use package-level
// types of its package that take no shape: they are copied into the
// generated file once (Func.Helpers, Set.Source), a type with its
// methods. It may use the packages fmt, math, unsafe and modelc's
// runtime/numerics and runtime/quant, which the generated files import.
// Comments inside a template's body are not copied: the template is
// where the kernel is explained.
package tmpl

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Set is a parsed template package.
type Set struct {
	pkg   string
	fset  *token.FileSet
	funcs map[string]*ast.FuncDecl
	// decls are the package-level declarations by name (functions, types,
	// constants, variables), and the file each is in.
	decls map[string]ast.Decl
	files map[ast.Decl]*ast.File
	// imports maps a file to its imports: local name → path.
	imports map[*ast.File]map[string]string
}

// allowedImports are the packages a template body may use: those the
// generated files import.
var allowedImports = map[string]bool{
	"fmt": true, "math": true, "unsafe": true,
	"github.com/modelc/modelc/runtime/numerics": true,
	"github.com/modelc/modelc/runtime/quant":    true,
}

// Load parses the template package in fsys (its .go files, not the
// tests).
func Load(fsys fs.FS) (*Set, error) {
	names, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	s := &Set{fset: token.NewFileSet(), funcs: map[string]*ast.FuncDecl{}, decls: map[string]ast.Decl{},
		files: map[ast.Decl]*ast.File{}, imports: map[*ast.File]map[string]string{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(s.fset, path.Base(name), src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if s.pkg == "" {
			s.pkg = f.Name.Name
		}
		imps := map[string]string{}
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			local := p[strings.LastIndex(p, "/")+1:]
			if is.Name != nil {
				local = is.Name.Name
			}
			imps[local] = p
		}
		s.imports[f] = imps
		for _, d := range f.Decls {
			for _, name := range declNames(d) {
				if _, dup := s.decls[name]; dup {
					return nil, fmt.Errorf("templates: %s declared twice", name)
				}
				s.decls[name] = d
				s.files[d] = f
			}
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				s.funcs[fd.Name.Name] = fd
			}
		}
	}
	if len(s.funcs) == 0 {
		return nil, fmt.Errorf("templates: no functions in %v", names)
	}
	return s, nil
}

// MustLoad is Load for templates embedded in the binary, which their
// package's build has checked: an error is a bug.
func MustLoad(fsys fs.FS) *Set {
	s, err := Load(fsys)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return s
}

// declNames returns the package-level names d declares (methods are
// found through their type).
func declNames(d ast.Decl) []string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv != nil {
			return nil
		}
		return []string{d.Name.Name}
	case *ast.GenDecl:
		var ns []string
		for _, sp := range d.Specs {
			switch sp := sp.(type) {
			case *ast.TypeSpec:
				ns = append(ns, sp.Name.Name)
			case *ast.ValueSpec:
				for _, n := range sp.Names {
					ns = append(ns, n.Name)
				}
			}
		}
		return ns
	}
	return nil
}

// Binding is how one instance of a template is specialised.
type Binding struct {
	// Shape is the value of the template's shape parameter.
	Shape any
	// Hooks rewrite the uses of shape fields that are not values: by
	// field name, an Inline, Call, Table or Dispatch.
	Hooks map[string]Hook
	// Types binds the template's type parameters to Go types.
	Types map[string]string
	// Omit lists parameters the kernel does not have.
	Omit []string
	// Groups gives the number of kernel parameters each [][]T parameter
	// stands for.
	Groups map[string]int
	// Serial, when set, makes a template written for a chunk [lo, hi) a
	// kernel without those parameters, running lo, hi := 0, Serial.
	Serial string
}

// Hook is a shape field rewritten by more than a value.
type Hook interface{ hook() }

// Inline replaces a call s.H(args…) by the result expression of the
// package's function Func (whose body is one return statement), its
// parameters bound to args followed by Args (values, as shape fields
// print). An argument used more than once must be a name or a literal.
type Inline struct {
	Func string
	Args []any
}

// Call replaces a call s.H(args…) by Func(args…), Func a function of the
// generated package (a helper another emitter wrote).
type Call struct{ Func string }

// Var replaces every use of s.H (a slice: s.H[i], len(s.H)) by Name, a
// package-level variable of the generated package (a table another
// emitter wrote, shared by the kernels that read the same values).
type Var struct{ Name string }

// Table replaces the statement s.H(k, args…) by a switch on k calling
// Funcs[v](args…) in case v, or by the call alone when there is one
// function.
type Table struct{ Funcs map[int]string }

// Dispatch is a call site of the targets' kernels of one family: the
// field is a value whose Run method calls the kernel (in the template's
// Go, a test's stand-in) and reports that it ran. Each form becomes one
// tier switch, Cases tried in order:
//
//	if s.H.Run(args…) { S }       switch { case c: f(args…); S … }
//	if !s.H.Run(args…) { F }      switch { case c: f(args…) … default: F }
//	v := s.H.Run(args…)           v := 0; switch { case c: v = f(args…) … }
//
// The second form may be followed by `if s.H.GoEpi() { E }`: E runs
// after F and after the kernels of the cases marked GoEpi (which left
// the epilogue to Go). With no cases, the forms become nothing, F (and
// E), and v := 0.
type Dispatch struct{ Cases []Case }

// Case is one kernel of a Dispatch.
type Case struct {
	Cond string // the tier flag
	Func string // the kernel
	// Nil lists the arguments passed as nil (a residual the kernel does
	// not add, leaving it to the Go epilogue).
	Nil []int
	// GoEpi: the Go epilogue runs after the kernel.
	GoEpi bool
}

func (Inline) hook()   {}
func (Call) hook()     {}
func (Var) hook()      {}
func (Table) hook()    {}
func (Dispatch) hook() {}

// Func is an instantiated template: a kernel's parameters and body.
type Func struct {
	// Params are the kernel's parameters, in order (n first).
	Params []Param
	// Result is the result type, or "" for none.
	Result string
	// Body is the function body's statements, one per line, unformatted.
	Body string
	// Unused are the parameters the body does not read.
	Unused map[string]bool
	// Helpers are the package-level declarations of the template package
	// the body uses (transitively), by name, as source.
	Helpers map[string]string
}

// Param is one kernel parameter.
type Param struct{ Name, Type string }

// Names returns the parameters' names.
func (f *Func) Names() []string {
	ns := make([]string, len(f.Params))
	for i, p := range f.Params {
		ns[i] = p.Name
	}
	return ns
}

// Signature returns the parameter list, consecutive parameters of one
// type grouped ("m, lo, hi int, y, x []float32"), and the result.
func (f *Func) Signature() string {
	var b strings.Builder
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		if i+1 == len(f.Params) || f.Params[i+1].Type != p.Type {
			b.WriteString(" " + p.Type)
		}
	}
	return "(" + b.String() + ")" + strings.TrimRight(" "+f.Result, " ")
}

// Has reports whether the set holds a template (or function) called name.
func (s *Set) Has(name string) bool { _, ok := s.funcs[name]; return ok }

// Instantiate specialises template name with b.
func (s *Set) Instantiate(name string, b Binding) (f *Func, err error) {
	fd, ok := s.funcs[name]
	if !ok {
		return nil, fmt.Errorf("BUG: template %s.%s does not exist", s.pkg, name)
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(tmplError)
			if !ok {
				panic(r)
			}
			f, err = nil, fmt.Errorf("BUG: template %s.%s: %s", s.pkg, name, string(e))
		}
	}()
	in := newInst(s, fd, b)
	return in.run(), nil
}

// tmplError is a failed instantiation, raised by fail and recovered by
// Instantiate.
type tmplError string

func fail(format string, args ...any) {
	panic(tmplError(fmt.Sprintf(format, args...)))
}
