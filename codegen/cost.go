package codegen

import "github.com/modelc/modelc/ir"

// stepCost estimates a node's arithmetic (a multiply-add counts two) and
// the bytes it must move at least once (every input, weights included,
// and every output), both affine in the batch, for the roofline that
// modelc bench --layers prints. Dense ops count their multiply-adds;
// everything else one operation per output element.
func stepCost(n *ir.Node) (flops, bytes ir.Dim) {
	numel := func(v *ir.Value) ir.Dim {
		d, _ := v.Type.Shape.NumelDim()
		return d
	}
	for _, v := range n.Inputs {
		bytes = bytes.Add(numel(v).MulInt(v.Type.DType.Size()))
	}
	var out ir.Dim
	for _, v := range n.Outputs {
		out = out.Add(numel(v))
		bytes = bytes.Add(numel(v).MulInt(v.Type.DType.Size()))
	}
	switch op := n.Op.(type) {
	case *ir.Linear:
		k := n.Inputs[1].Type.Shape[1].B
		return out.MulInt(2 * k), bytes
	case *ir.Conv2D:
		w := n.Inputs[1].Type.Shape
		return out.MulInt(2 * w[1].B * w[2].B * w[3].B), bytes
	case *ir.Attention:
		q, k, v := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape, n.Inputs[2].Type.Shape
		// QKᵀ and PV per batch element: 2·T·S·(D + Dv) over the heads.
		return q[0].MulInt(2 * q[1].B * k[1].B * (q[2].B + v[2].B)), bytes
	case *ir.Gemm:
		a := n.Inputs[0].Type.Shape
		k := a[1].B
		if op.TransA {
			k = a[0].B
		}
		return out.MulInt(2 * k), bytes
	}
	if n.Op.Kind() == ir.KMatMul {
		a := n.Inputs[0].Type.Shape
		return out.MulInt(2 * a[a.Rank()-1].B), bytes
	}
	return out, bytes
}
