package ir

// Cost estimates a node's arithmetic in FLOPs (a multiply-add counts two)
// and the bytes it must move at least once (every input, weights
// included, and every output), both affine in the batch, for the
// roofline of modelc bench --layers. Dense ops count their multiply-adds
// (MACs); everything else one operation per output element.
func Cost(n *Node) (flops, bytes Dim) {
	for _, v := range n.Inputs {
		bytes = bytes.Add(numelDim(v).MulInt(v.Type.DType.Size()))
	}
	var out Dim
	for _, v := range n.Outputs {
		out = out.Add(numelDim(v))
		bytes = bytes.Add(numelDim(v).MulInt(v.Type.DType.Size()))
	}
	if m, dense := MACs(n); dense {
		return m.MulInt(2), bytes
	}
	return out, bytes
}

// MACs counts a dense node's multiply-accumulates, affine in the batch:
// linear, conv2d (float or quantized: qlinear, qconv2d), conv_nd, gemm, matmul,
// phm_linear and phc_conv2d (factored), and attention's QKᵀ and PV; dense
// is false for every other op. It is the MAC model the lossy passes
// predict speed-ups with.
func MACs(n *Node) (macs Dim, dense bool) {
	var out Dim
	for _, v := range n.Outputs {
		out = out.Add(numelDim(v))
	}
	switch op := n.Op.(type) {
	case *Linear, *QLinear:
		return out.MulInt(n.Inputs[1].Type.Shape[1].B), true
	case *Conv2D, *QConv2D:
		w := n.Inputs[1].Type.Shape
		return out.MulInt(w[1].B * w[2].B * w[3].B), true
	case *ConvND:
		w := n.Inputs[1].Type.Shape
		return out.MulInt(numel(Shape(w[1:]).Ints())), true
	case *PHMLinear, *PHCConv2D:
		// Factored (Kron.MACs), per output position.
		k, _ := KronOf(n)
		rows, _ := out.DivInt(k.Out())
		return rows.MulInt(k.MACs()), true
	case *Attention:
		q, k, v := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape, n.Inputs[2].Type.Shape
		// QKᵀ and PV per batch element: T·S·(D + Dv) over the heads.
		return q[0].MulInt(q[1].B * k[1].B * (q[2].B + v[2].B)), true
	case *Gemm:
		a := n.Inputs[0].Type.Shape
		k := a[1].B
		if op.TransA {
			k = a[0].B
		}
		return out.MulInt(k), true
	}
	if n.Op.Kind() == KMatMul {
		a := n.Inputs[0].Type.Shape
		return out.MulInt(a[a.Rank()-1].B), true
	}
	return Dim{}, false
}

func numelDim(v *Value) Dim {
	d, _ := v.Type.Shape.NumelDim()
	return d
}
