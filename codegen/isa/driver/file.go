package driver

import (
	"fmt"
	"sort"
	"strings"

	"github.com/modelc/modelc/codegen/gosrc"
	"github.com/modelc/modelc/codegen/isa"
)

// GoFile writes a vector target's Go file (kernels_NAME.go): the header,
// the target's build constraint, its tier flags set from their checks,
// the parameter blocks the kernels use (each once, in a stable order),
// the assembly functions' declarations (asmDecls) and the drivers.
func GoFile(t isa.Target, f isa.File, blocks []string, asmDecls string, drivers []string) ([]byte, error) {
	seen := map[string]bool{}
	var uniq []string
	for _, d := range blocks {
		if !seen[d] {
			seen[d] = true
			uniq = append(uniq, d)
		}
	}
	sort.Strings(uniq)
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
	for _, d := range uniq {
		b.WriteString(d + "\n")
	}
	b.WriteString(asmDecls)
	for _, d := range drivers {
		b.WriteString(d + "\n")
	}
	src, err := gosrc.Format([]byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("BUG: %s: kernels_%s.go does not format: %v\n%s", t.Name(), t.Name(), err, b.String())
	}
	return src, nil
}

// Header turns a generated file's header ("// …" lines) into an
// assembly file's header lines, without the comment markers.
func Header(h string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(h), "\n") {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(l, "//"), " "))
	}
	return out
}
