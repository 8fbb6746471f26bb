package amd64

import (
	"fmt"
	"sort"
	"strings"

	"github.com/modelc/modelc/codegen/gosrc"
	"github.com/modelc/modelc/codegen/isa"
)

// Render writes kernels_amd64.go (the tier flags, the parameter blocks,
// the assembly functions' declarations and the Go drivers) and
// kernels_amd64.s, each kernel and each assembly function once.
func (t Target) Render(f isa.File) (map[string][]byte, error) {
	if len(f.Kernels) == 0 {
		return nil, nil
	}
	file := File{Build: isa.BuildConstraint(t)}
	for _, l := range strings.Split(strings.TrimSpace(f.Header), "\n") {
		file.Header = append(file.Header, strings.TrimPrefix(strings.TrimPrefix(l, "//"), " "))
	}
	seenFn, seenDecl := map[string]bool{}, map[string]bool{}
	var drivers, decls []string
	for _, k := range f.Kernels {
		p := k.Part.(part)
		drivers = append(drivers, p.goSrc)
		for _, d := range p.decls {
			if !seenDecl[d] {
				seenDecl[d] = true
				decls = append(decls, d)
			}
		}
		for _, fn := range p.funcs {
			if !seenFn[fn.Name] {
				seenFn[fn.Name] = true
				file.Funcs = append(file.Funcs, fn)
			}
		}
	}
	sort.Strings(decls)
	var b strings.Builder
	b.WriteString(f.Header)
	fmt.Fprintf(&b, "//go:build %s\n\npackage %s\n\n", isa.BuildConstraint(t), f.Package)
	// Every package the drivers may use; gosrc.Format drops the rest.
	fmt.Fprintf(&b, "import (\n\"math\"\n\"unsafe\"\n\nrt %q\n%q\n)\n\n", f.Runtime, f.Runtime+"/numerics")
	b.WriteString("// The tiers' flags, set once from the CPU's features.\nvar (\n")
	for _, tier := range t.Tiers() {
		fmt.Fprintf(&b, "%s = %s\n", isa.Flag(t, tier), tier.Check)
	}
	b.WriteString(")\n\n")
	for _, d := range decls {
		b.WriteString(d + "\n")
	}
	b.WriteString(file.GoDecls())
	for _, d := range drivers {
		b.WriteString(d + "\n")
	}
	src, err := gosrc.Format([]byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("BUG: amd64: kernels_amd64.go does not format: %v\n%s", err, b.String())
	}
	return map[string][]byte{"kernels_amd64.go": src, "kernels_amd64.s": []byte(file.AMD64())}, nil
}
