package codegen_test

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/internal/gosafe"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
)

// hostileSeeds are names an attacker or a careless user writes: Go code
// after a newline or a backquote, directives, comment terminators,
// keywords, Unicode line separators, invalid UTF-8, $VARS for go generate.
var hostileSeeds = [][5]string{
	// model name, package, value name, layer name, file name
	{"mlp", "", "x", "fc1", "model.yaml"},
	{"Switch", "", "x", "fc", "switch.onnx"},
	{"m", "func", "x", "fc", "m.yaml"},
	{"m", "_", "x", "fc", "m.yaml"},
	{"m", "main", "x", "fc", "m.yaml"},
	{"m\npackage x\nimport \"os\"\nfunc init(){os.Exit(3)}\nconst _=`", "", "y`\nfunc init(){}", "l`", "m\npackage x\nimport(\"os\")\nfunc init(){os.Exit(3)}\nconst _=`.yaml"},
	{"*/ func init() {} /*", "", "x\"; os.Exit(1)//", "//go:generate rm -rf /", "$HOME/$(rm -rf).yaml"},
	{"a\u2028b\rc", "", "\u2029", "\x00\xff", "a b\tc.yaml"},
	{"", "", "", "", ""},
	{"9lives", "", "9", ".", "-o"},
}

// FuzzHostileNames generates a small package (input → linear → relu →
// output) whose model, package, value, layer and file names come from the
// fuzzer, and checks what internal/gosrc promises: an invalid package name
// is an error, never an emitted package; otherwise every Go file parses
// and declares exactly what the same model with benign names declares (no
// extra init, import or function), the only directives are modelc's own,
// the //go:generate line gives back the file name when go generate splits
// it, and the package type-checks. TestHostileNames builds, vets and runs
// such a package with go itself.
func FuzzHostileNames(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	// Type-check a benign package first, in every fuzzing process:
	// importing the standard library and the runtime from source takes
	// seconds the first time, and the fuzzing engine takes an input that
	// runs over 10 s for a hang.
	base, err := generateNamed("benign", "benign", "x", "fc", "model.yaml")
	if err != nil {
		f.Fatal(err)
	}
	checkGenerated(f, base, base, "benign", "model.yaml")
	f.Fuzz(func(t *testing.T, model, pkg, value, layer, file string) {
		if len(model)+len(pkg)+len(value)+len(layer)+len(file) > 4096 {
			return
		}
		if pkg == "" {
			pkg = gosafe.Package(model)
		} else if gosafe.CheckPackage(pkg) != nil {
			_, err := generateNamed(model, pkg, value, layer, file)
			if err == nil {
				t.Fatalf("package %q: Generate emitted a package with an invalid name", pkg)
			}
			return
		}
		files, err := generateNamed(model, pkg, value, layer, file)
		if err != nil {
			if strings.Contains(err.Error(), "BUG") {
				t.Fatal(err)
			}
			return // names the IR refuses (a duplicate value, say)
		}
		base, err := generateNamed("benign", pkg, "x", "fc", "model.yaml")
		if err != nil {
			t.Fatal(err)
		}
		checkGenerated(t, files, base, pkg, file)
	})
}

// generateNamed builds and generates the fuzz target's model.
func generateNamed(model, pkg, value, layer, file string) (map[string][]byte, error) {
	b := ir.NewBuilder(model)
	x, err := b.Input(value, ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(3)}))
	if err != nil {
		return nil, err
	}
	w, err := b.Const(layer+".weight", &ir.Tensor{DType: ir.F32, Shape: []int{2, 3}, F: []float32{1, -2, 3, -4, 5, -6}})
	if err != nil {
		return nil, err
	}
	y, err := b.Add1(layer, &ir.Linear{}, []*ir.Value{x, w}, value+"/out")
	if err != nil {
		return nil, err
	}
	r, err := b.Add1(layer+"/relu", ir.Simple{K: ir.KRelu}, []*ir.Value{y}, "")
	if err != nil {
		return nil, err
	}
	b.G.Outputs = []*ir.Value{r}
	p, err := passes.Build(nil)
	if err != nil {
		return nil, err
	}
	res, err := p.Run(b.G, passes.RunOptions{})
	if err != nil {
		return nil, err
	}
	in := ir.SampleInputs(b.G, 2, 1)
	want, err := ir.Eval(b.G, in...)
	if err != nil {
		return nil, err
	}
	return codegen.Generate(codegen.Input{
		Graph: res.Graph, Plan: res.Plan, Package: pkg, CommandArgs: []string{"modelc", "build", file, "-o", "."},
		Version: "test", RuntimeImport: compile.RuntimeImport, Test: &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4},
	})
}

// directives are the //go: lines generated code may hold.
var directives = []string{"//go:generate ", "//go:embed weights.bin", "//go:build ", "//go:noescape"}

func checkGenerated(t testing.TB, files, base map[string][]byte, pkg, file string) {
	t.Helper()
	if len(files) != len(base) {
		t.Fatalf("%d files, benign names give %d", len(files), len(base))
	}
	fset := token.NewFileSet()
	var asts []*ast.File
	for name, src := range files {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatalf("%s does not parse: %v", name, err)
		}
		bf, err := parser.ParseFile(token.NewFileSet(), name, base[name], 0)
		if err != nil {
			t.Fatalf("benign %s does not parse: %v", name, err)
		}
		if f.Name.Name != pkg {
			t.Fatalf("%s: package %s, want %s", name, f.Name.Name, pkg)
		}
		if got, want := declNames(f), declNames(bf); got != want {
			t.Fatalf("%s declares\n%s\nbenign names give\n%s", name, got, want)
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.HasPrefix(c.Text, "/*") {
					t.Fatalf("%s: a /* comment: %s", name, c.Text)
				}
				if strings.HasPrefix(c.Text, "//go:") || strings.HasPrefix(c.Text, "//line") || strings.HasPrefix(c.Text, "//export") {
					ok := false
					for _, d := range directives {
						ok = ok || strings.HasPrefix(c.Text, d)
					}
					if !ok {
						t.Fatalf("%s: directive %s", name, c.Text)
					}
				}
				if rest, ok := strings.CutPrefix(c.Text, "//go:generate "); ok {
					args := splitGenerate(t, rest)
					if len(args) != 5 || args[2] != file {
						t.Fatalf("go generate reads %q, want the file name %q as the third argument", args, file)
					}
				}
			}
		}
		if !strings.HasSuffix(name, "_test.go") && buildsOnAMD64(f) {
			asts = append(asts, f)
		}
	}
	typeCheck(t, fset, pkg, asts)
}

// buildsOnAMD64 evaluates a file's //go:build line for linux/amd64
// without the purego tag.
func buildsOnAMD64(f *ast.File) bool {
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if constraint.IsGoBuild(c.Text) {
				e, err := constraint.Parse(c.Text)
				if err != nil {
					return false
				}
				return e.Eval(func(tag string) bool {
					return tag == "amd64" || tag == "linux" || tag == "gc" || strings.HasPrefix(tag, "go1.")
				})
			}
		}
	}
	return true
}

// declNames lists a file's imports and top-level declarations.
func declNames(f *ast.File) string {
	var names []string
	for _, imp := range f.Imports {
		names = append(names, "import "+imp.Path.Value)
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			recv := ""
			if d.Recv != nil {
				recv = "(method) "
			}
			names = append(names, "func "+recv+d.Name.Name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names = append(names, "type "+s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names = append(names, d.Tok.String()+" "+n.Name)
					}
				}
			}
		}
	}
	sort.Strings(names)
	return strings.Join(names, "\n")
}

// splitGenerate splits a //go:generate line as go generate does: words
// at spaces, double-quoted Go strings unquoted, then $DOLLAR expanded
// (the only variable gosafe.Command writes, as ${DOLLAR}).
func splitGenerate(t testing.TB, line string) []string {
	var words []string
	for line = strings.TrimLeft(line, " \t"); line != ""; line = strings.TrimLeft(line, " \t") {
		if line[0] == '"' {
			end := 1
			for ; end < len(line); end++ {
				if line[end] == '\\' {
					end++
				} else if line[end] == '"' {
					break
				}
			}
			if end >= len(line) {
				t.Fatalf("unterminated quote in //go:generate %s", line)
			}
			w, err := strconv.Unquote(line[:end+1])
			if err != nil {
				t.Fatalf("//go:generate %s: %v", line, err)
			}
			words = append(words, w)
			line = line[end+1:]
			continue
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			i = len(line)
		}
		words = append(words, line[:i])
		line = line[i:]
	}
	for i, w := range words {
		words[i] = os.Expand(w, func(v string) string {
			if v == "DOLLAR" {
				return "$"
			}
			t.Fatalf("//go:generate would expand $%s", v)
			return ""
		})
	}
	return words
}

// srcImporter type-checks imports from source (the standard library, the
// runtime and golang.org/x/sys, through go list from this module), once
// per process.
var srcImporter = sync.OnceValue(func() types.ImporterFrom {
	return importer.ForCompiler(token.NewFileSet(), "source", nil).(types.ImporterFrom)
})

var importMu sync.Mutex

type rootImporter struct{ dir string }

func (r rootImporter) Import(path string) (*types.Package, error) {
	return r.ImportFrom(path, r.dir, 0)
}

func (r rootImporter) ImportFrom(path, _ string, mode types.ImportMode) (*types.Package, error) {
	importMu.Lock()
	defer importMu.Unlock()
	return srcImporter().ImportFrom(path, r.dir, mode)
}

func typeCheck(t testing.TB, fset *token.FileSet, pkg string, files []*ast.File) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	conf := types.Config{Importer: rootImporter{root}, Error: func(err error) { errs = append(errs, err.Error()) }}
	conf.Check(pkg, fset, files, nil)
	if len(errs) > 0 {
		t.Fatalf("the generated package does not type-check:\n%s", strings.Join(errs, "\n"))
	}
}

// TestHostileSeedsVet builds, vets and tests, with the go tool, the
// packages FuzzHostileNames's seeds generate: one module, one package per
// seed.
func TestHostileSeedsVet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated packages")
	}
	mod := harness.TempModule(t, "hostile")
	n := 0
	for _, s := range hostileSeeds {
		pkg := s[1]
		if pkg == "" {
			pkg = gosafe.Package(s[0])
		}
		files, err := generateNamed(s[0], pkg, s[2], s[3], s[4])
		if gosafe.CheckPackage(pkg) != nil {
			if err == nil {
				t.Fatalf("package %q: Generate emitted a package with an invalid name", pkg)
			}
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "BUG") {
				t.Fatalf("%q: %v", s, err)
			}
			continue // names the IR refuses (empty ones)
		}
		mod.MustAdd(t, fmt.Sprintf("p%d", n), files)
		n++
	}
	if n < 6 {
		t.Fatalf("only %d of %d seeds generated a package", n, len(hostileSeeds))
	}
	mod.MustGo(t, nil, "vet", "./...")
	mod.MustGo(t, nil, "test", "-count=1", "./...")
}
