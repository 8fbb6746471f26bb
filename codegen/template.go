package codegen

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
)

// templates are the generic kernels (codegen/kernels), parsed once.
var templates = tmpl.MustLoad(kernels.Source)

// template writes the kernel's body from template name of
// codegen/kernels specialised by b (codegen/tmpl). The kernel's
// parameters are the template's: n; lo and hi when the kernel is
// parallel (kctx.parallel); then the node's outputs, its inputs and the
// scratch buffers asked for (kctx.scratchBuf), in order, of the types
// their values have ([]int8 for an input packed into bytes).
func (c *kctx) template(name string, b tmpl.Binding) error {
	f, err := templates.Instantiate(name, b)
	if err != nil {
		return err
	}
	if len(f.Params) == 0 || f.Params[0] != (tmpl.Param{Name: "n", Type: "int"}) {
		return fmt.Errorf("BUG: codegen: template %s's first parameter after the shape is not n int", name)
	}
	ps := f.Params[1:]
	chunk := len(ps) >= 2 && ps[0] == (tmpl.Param{Name: "lo", Type: "int"}) && ps[1] == (tmpl.Param{Name: "hi", Type: "int"})
	if chunk != c.par {
		return fmt.Errorf("BUG: codegen: template %s takes a chunk [lo, hi): %v, but the kernel is parallel: %v", name, chunk, c.par)
	}
	if chunk {
		ps = ps[2:]
	}
	var want []string
	for _, v := range c.node.Outputs {
		want = append(want, goType(v.Type.DType))
	}
	for i, v := range c.node.Inputs {
		if c.packs[i].i8 != nil {
			want = append(want, "[]int8") // packed into bytes (kctx.packInt8)
		} else {
			want = append(want, goType(v.Type.DType))
		}
	}
	for range c.scratch {
		want = append(want, "[]float32")
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Type)
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		return fmt.Errorf("BUG: codegen: template %s's kernel takes (%s) after n, but the node's outputs, inputs and scratch are (%s)", name, strings.Join(got, ", "), strings.Join(want, ", "))
	}
	c.params, c.types = make([]string, len(ps)), got
	for i, p := range ps {
		if p.Name == "k" || p.Name == "n" || p.Name == "lo" || p.Name == "hi" {
			// k is a parallel kernel's receiver; n, lo and hi come first.
			return fmt.Errorf("BUG: codegen: template %s names a kernel parameter %s", name, p.Name)
		}
		c.params[i] = p.Name
	}
	switch f.Result {
	case "":
	case "error":
		c.fallible = true
	default:
		return fmt.Errorf("BUG: codegen: template %s returns %s: a kernel returns nothing or an error", name, f.Result)
	}
	c.unused = f.Unused
	c.body.WriteString(f.Body)
	for h, src := range f.Helpers {
		c.helper(h, src)
	}
	return nil
}

// dispatchHook is the call site of the targets' kernels ks as a
// template's hook: a case per kernel under its tier's flag, in the
// targets' order and best tier first. Those goEpi names (nil: none)
// leave the epilogue to the template's Go and are passed nil for
// argument resid.
func dispatchHook(ks []vkernel, goEpi func(name string) bool, resid int) tmpl.Dispatch {
	var d tmpl.Dispatch
	for _, k := range ks {
		cs := tmpl.Case{Cond: isa.Flag(k.t, k.k.Tier), Func: k.k.Name}
		if goEpi != nil && goEpi(k.k.Name) {
			cs.GoEpi, cs.Nil = true, []int{resid}
		}
		d.Cases = append(d.Cases, cs)
	}
	return d
}
