package codegen

import (
	"fmt"
	"go/token"
	"go/types"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/internal/gosafe"
	"github.com/modelc/modelc/ir"
)

// Every user-derived string reaches generated code through
// internal/gosafe; these are the names codegen uses for its functions.

// exportedName turns a user string into an exported Go identifier (see
// gosafe.Ident). taken holds names already used; a clash gets a numeric
// suffix.
func exportedName(s string, taken map[string]bool) string { return gosafe.Ident(s, taken) }

// ExportedName is the name generated code gives an input or output in the
// Inputs and Outputs structs (see gosafe.Ident); tools that drive a
// generated package call it with the graph's inputs, then outputs, in
// order, sharing one taken map.
func ExportedName(s string, taken map[string]bool) string { return gosafe.Ident(s, taken) }

// comment makes a user string safe as the text of a // comment (see
// gosafe.Comment).
func comment(s string) string { return gosafe.Comment(s) }

// quoted is a user string as a Go string literal (see gosafe.Quote).
func quoted(s string) *jen.Statement { return jen.Op(gosafe.Quote(s)) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// kernelName is a kernel's name from its op and shapes, e.g.
// conv3x3_c16_o16_s1, linear_k512_n2048_gelu, softmax_l65, add_nx64x8x8
// (the output's dimensions, the batch as n); kernelSet.add suffixes it
// when two different kernels would share it. Only op kinds and numbers
// reach it, never a user's string.
func kernelName(n *ir.Node) string {
	out := n.Outputs[0].Type
	var s string
	switch op := n.Op.(type) {
	case *ir.Conv2D:
		w := n.Inputs[1].Type.Shape
		s = fmt.Sprintf("conv%dx%d_c%d_o%d_s%d", w[2].B, w[3].B, n.Inputs[0].Type.Shape[1].B, w[0].B, op.Stride[0])
		if op.Groups > 1 {
			s += fmt.Sprintf("_g%d", op.Groups)
		}
	case *ir.Linear:
		w := n.Inputs[1].Type.Shape
		s = fmt.Sprintf("linear_k%d_n%d", w[1].B, w[0].B)
	case *ir.Attention:
		q, k := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape
		s = fmt.Sprintf("attention_t%d_s%d_h%d", q[1].B, k[1].B, op.Heads)
		if op.Causal {
			s += "_causal"
		}
	case *ir.Softmax:
		x := n.Inputs[0].Type.Shape
		s = fmt.Sprintf("%s_l%d", op.Kind(), x[kernels.NormAxis(op.Axis, x.Rank())].B)
	case *ir.LayerNorm:
		x := n.Inputs[0].Type.Shape
		i, _ := x[kernels.NormAxis(op.Axis, x.Rank()):].NumelDim()
		s = fmt.Sprintf("layernorm_i%d", i.B)
	default:
		s = n.Op.Kind().String() + "_" + dimsName(out.Shape)
	}
	if e, ok := ir.EpilogueOf(n.Op); ok {
		if e.Residual {
			s += "_res"
		}
		if e.Act != "" {
			s += "_" + e.Act
		}
	}
	if cv, ok := n.Op.(*ir.Conv2D); ok && cv.Pre {
		s += "_pre"
		if cv.PreAct != "" {
			s += "_" + cv.PreAct
		}
	}
	if out.Layout == ir.NHWC && n.Op.Kind() != ir.KRelayout {
		s += "_nhwc"
	}
	return strings.ReplaceAll(s, "-", "_")
}

// dimsName spells a shape for a name: nx64x8x8 for [N, 64, 8, 8], 2nx3
// for [2N, 3], scalar for [].
func dimsName(s ir.Shape) string {
	if s.Rank() == 0 {
		return "scalar"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		switch {
		case d.A == 0:
			parts[i] = itoa(d.B)
		case d.A == 1 && d.B == 0:
			parts[i] = "n"
		case d.B == 0:
			parts[i] = itoa(d.A) + "n"
		default:
			parts[i] = fmt.Sprintf("%dnp%d", d.A, d.B)
		}
	}
	return strings.Join(parts, "x")
}

// fieldName is an unexported Go identifier for a user string, for the
// Model's per-step fields: lowerCamelCase from ExportedName's letters
// and digits, "Step" added to a keyword or a predeclared name, and a
// numeric suffix on a clash with taken.
func fieldName(s string, taken map[string]bool) string {
	base := ExportedName(s, map[string]bool{})
	base = strings.ToLower(base[:1]) + base[1:]
	if token.IsKeyword(base) || types.Universe.Lookup(base) != nil {
		base += "Step"
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = base + itoa(i)
	}
	taken[name] = true
	return name
}
