// Package gosrc finishes generated Go source: Format checks that it
// parses, drops the imports it does not use and gofmts it, so every
// emitter may import what it might need and still write a vet-clean file.
package gosrc

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// Format returns src gofmt'd, without the imports it does not use (by its
// syntax tree: a package counts as used when a selector names it), or an
// error when src does not parse. Emitters import every package a file
// might use and leave the choice to Format; deciding by the text instead
// is fooled by comments ("computes sqrt." seems to use rt).
func Format(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	changed := false
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		specs := gd.Specs[:0]
		for _, s := range gd.Specs {
			is := s.(*ast.ImportSpec)
			path, _ := strconv.Unquote(is.Path.Value)
			name := path[strings.LastIndex(path, "/")+1:]
			if is.Name != nil {
				name = is.Name.Name
			}
			if name == "_" || name == "." || used[name] {
				specs = append(specs, s)
				continue
			}
			changed = true
		}
		gd.Specs = specs
	}
	if !changed {
		return format.Source(src)
	}
	var out bytes.Buffer
	if err := format.Node(&out, fset, f); err != nil {
		return nil, err
	}
	// An import block left empty prints as "import ()"; gofmt keeps it,
	// so drop it here.
	return format.Source(bytes.Replace(out.Bytes(), []byte("import ()\n\n"), nil, 1))
}
