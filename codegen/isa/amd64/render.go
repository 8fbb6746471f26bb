package amd64

import (
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Render writes kernels_amd64.go (driver.GoFile: the tier flags, the
// parameter blocks, the assembly functions' declarations and the Go
// drivers) and kernels_amd64.s, each kernel and each assembly function once.
func (t Target) Render(f isa.File) (map[string][]byte, error) {
	if len(f.Kernels) == 0 {
		return nil, nil
	}
	file := File{Build: isa.BuildConstraint(t), Header: driver.Header(f.Header)}
	seen := map[string]bool{}
	var drivers, blocks []string
	for _, k := range f.Kernels {
		p := k.Part.(part)
		drivers = append(drivers, p.goSrc)
		blocks = append(blocks, p.decls...)
		for _, fn := range p.funcs {
			if !seen[fn.Name] {
				seen[fn.Name] = true
				file.Funcs = append(file.Funcs, fn)
			}
		}
	}
	src, err := driver.GoFile(t, f, blocks, file.GoDecls(), drivers)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"kernels_amd64.go": src, "kernels_amd64.s": []byte(file.AMD64())}, nil
}
