package runtime

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"strings"
	"testing"
)

// Generated code refers to this constant; this line is the same check.
var _ = ModelcAPIv1

// TestAPIVersionMarker checks that the marker constant for APIVersion
// exists, so bumping APIVersion without adding it fails here.
func TestAPIVersionMarker(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "version.go", nil, 0)
	noError(t, err)
	want := fmt.Sprintf("ModelcAPIv%d", APIVersion)
	isTrue(t, f.Scope.Lookup(want) != nil, "version.go must declare %s", want)
	equal(t, ast.Con, f.Scope.Lookup(want).Kind)
	isTrue(t, Version != "", "Version is empty")
}

// TestAPIMismatchIsCompileError type-checks a stand-in for a generated
// package against this runtime's version.go: the current marker compiles,
// a future one fails with an error naming the version it needs.
func TestAPIMismatchIsCompileError(t *testing.T) {
	fset := token.NewFileSet()
	src, err := os.ReadFile("version.go")
	noError(t, err)
	vf, err := parser.ParseFile(fset, "version.go", src, 0)
	noError(t, err)
	rt, err := (&types.Config{}).Check("github.com/modelc/modelc/runtime", fset, []*ast.File{vf}, nil)
	noError(t, err)

	check := func(version int) error {
		gen := fmt.Sprintf(`package model

import "github.com/modelc/modelc/runtime"

var _ = runtime.ModelcAPIv%d // this package needs modelc runtime API v%[1]d
`, version)
		gf, err := parser.ParseFile(fset, "model.go", gen, 0)
		noError(t, err)
		conf := types.Config{Importer: importerFunc(func(path string) (*types.Package, error) {
			if path == rt.Path() {
				return rt, nil
			}
			return nil, fmt.Errorf("unexpected import %q", path)
		})}
		_, err = conf.Check("model", fset, []*ast.File{gf}, nil)
		return err
	}
	noError(t, check(APIVersion))
	err = check(APIVersion + 1)
	isTrue(t, err != nil, "a package for the next API version compiled")
	isTrue(t, strings.Contains(err.Error(), fmt.Sprintf("undefined: runtime.ModelcAPIv%d", APIVersion+1)), "%v", err)
	isTrue(t, strings.Contains(err.Error(), "model.go:5:"), "the error must point at the marker line: %v", err)
}

type importerFunc func(string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
