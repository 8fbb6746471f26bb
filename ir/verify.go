package ir

import (
	"errors"
	"fmt"
)

// Verify checks the graph's invariants: unique names, every value defined
// before use, constants whose data fits their type, every node's result
// types equal to what its shape rule gives, and at least one output. It
// returns all problems found, each naming the node or value.
func Verify(g *Graph) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	defined := map[*Value]bool{}
	names := map[string]bool{}
	def := func(v *Value, what string) {
		if v == nil {
			fail("%s: nil value", what)
			return
		}
		if v.Name == "" {
			fail("%s: value without a name", what)
		}
		if names[v.Name] {
			fail("%s: value %%%s defined twice", what, quoteName(v.Name))
		}
		names[v.Name] = true
		defined[v] = true
		if err := CheckQuant(v.Type); err != nil {
			fail("%s: value %%%s: %v", what, quoteName(v.Name), err)
		}
	}
	if g.Name == "" {
		fail("graph has no name")
	}
	for _, v := range g.Inputs {
		def(v, "input")
		if v != nil && (v.Def != nil || v.Const != nil) {
			fail("input %%%s: also marked as a node result or constant", quoteName(v.Name))
		}
	}
	for _, v := range g.Consts {
		def(v, "const")
		if v == nil {
			continue
		}
		if err := checkConst(v); err != nil {
			fail("const %%%s: %v", quoteName(v.Name), err)
		}
	}
	for i, n := range g.Nodes {
		where := fmt.Sprintf("node %d (%s)", i, n.Op.Kind())
		if n.Name != "" {
			where = fmt.Sprintf("node %d (%s @%s)", i, n.Op.Kind(), quoteName(n.Name))
		}
		types := make([]Type, len(n.Inputs))
		ok := true
		for j, in := range n.Inputs {
			switch {
			case in == nil:
				fail("%s: input %d is nil", where, j)
				ok = false
			case !defined[in]:
				fail("%s: input %%%s is not defined before use", where, quoteName(in.Name))
				ok = false
			default:
				types[j] = in.Type
			}
		}
		if ok {
			want, err := Infer(n.Op, types)
			switch {
			case err != nil:
				fail("%s: %v", where, err)
			case len(want) != len(n.Outputs):
				fail("%s: has %d results, its shape rule gives %d", where, len(n.Outputs), len(want))
			default:
				for j, v := range n.Outputs {
					if v != nil && (v.Type.DType != want[j].DType || !v.Type.Shape.Equal(want[j].Shape) || v.Type.Quant != want[j].Quant) {
						fail("%s: result %%%s has type %s, its shape rule gives %s", where, quoteName(v.Name), FormatType(v.Type), FormatType(want[j]))
					}
				}
			}
		}
		for _, v := range n.Outputs {
			def(v, where)
			if v != nil && v.Def != n {
				fail("%s: result %%%s does not point back to its node", where, quoteName(v.Name))
			}
		}
	}
	if len(g.Outputs) == 0 {
		fail("graph has no outputs")
	}
	for _, v := range g.Outputs {
		if v == nil || !defined[v] {
			fail("output is not a value of the graph")
		}
	}
	return errors.Join(errs...)
}

func checkConst(v *Value) error {
	t := v.Const
	if !v.Type.Shape.Static() {
		return fmt.Errorf("constant shape %s must be static", v.Type.Shape)
	}
	shape := v.Type.Shape.Ints()
	if t.DType != v.Type.DType || len(t.Shape) != len(shape) {
		return fmt.Errorf("data (%s %v) does not match type %s", t.DType, t.Shape, FormatType(v.Type))
	}
	for i := range shape {
		if shape[i] != t.Shape[i] || shape[i] < 0 {
			return fmt.Errorf("data shape %v does not match type %s", t.Shape, FormatType(v.Type))
		}
	}
	want := numel(shape)
	if t.Splat {
		want = 1
	}
	got := len(t.I)
	if t.DType.IsFloat() {
		got = len(t.F)
		if t.I != nil {
			return fmt.Errorf("float constant holds integer data")
		}
	} else if t.F != nil {
		return fmt.Errorf("integer constant holds float data")
	}
	if t.F == nil && t.I == nil && !t.Splat {
		return nil // elided data: printing and verifying only
	}
	if got != want {
		return fmt.Errorf("has %d elements, type %s needs %d", got, FormatType(v.Type), want)
	}
	return nil
}
