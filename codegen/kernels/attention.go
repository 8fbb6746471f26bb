package kernels

import (
	"math"

	"github.com/modelc/modelc/ir"
)

// AttentionShape is multi-head scaled dot-product attention on q [N,T,D],
// k [N,S,D] and v [N,S,Dv] into [N,T,Dv], H heads; the items are (batch,
// head) pairs.
type AttentionShape struct {
	T, S, D, Dv, H int
	Scale          float64
	Causal         bool
	Items          ir.Dim
	Vector         AttentionKernel
}

// AttentionOf returns the shape of an attention node.
func AttentionOf(nd *ir.Node) AttentionShape {
	a := nd.Op.(*ir.Attention)
	q, k, v := nd.Inputs[0].Type.Shape, nd.Inputs[1].Type.Shape, nd.Inputs[2].Type.Shape
	return AttentionShape{T: q[1].B, S: k[1].B, D: q[2].B, Dv: v[2].B, H: a.Heads, Scale: a.Scale, Causal: a.Causal, Items: q[0].MulInt(a.Heads)}
}

// Attention computes items [lo, hi): per query, the scores in float64,
// their softmax, then the weighted sum of the values. The targets'
// kernels take scratch (Kernel.Scratch floats per item).
func Attention(s AttentionShape, n, lo, hi int, y, q, keys, values, scratch []float32) {
	T, S, D, Dv, H := s.T, s.S, s.D, s.Dv, s.H
	dh, dv, Scale := D/H, Dv/H, s.Scale
	if s.Vector.Run(lo, hi, y, q, keys, values, scratch) {
		return
	}
	row := make([]float64, S)
	acc := make([]float64, dv)
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		for t := 0; t < T; t++ {
			qr := q[(b*T+t)*D+h*dh:][:dh]
			m := math.Inf(-1)
			for j := 0; j < S; j++ {
				if s.Causal && j > t {
					row[j] = math.Inf(-1)
					continue
				}
				kr := keys[(b*S+j)*D+h*dh:][:dh]
				var dot float64
				for d, qv := range qr {
					dot += float64(qv) * float64(kr[d])
				}
				row[j] = Scale * dot
				if row[j] > m || row[j] != row[j] {
					m = row[j]
				}
			}
			var sum float64
			for j := range row {
				row[j] = math.Exp(row[j] - m)
				sum += row[j]
			}
			clear(acc)
			for j, p := range row {
				vr := values[(b*S+j)*Dv+h*dv:][:dv]
				for e, vv := range vr {
					acc[e] += p * float64(vv)
				}
			}
			dst := y[(b*T+t)*Dv+h*dv:][:dv]
			for e := range dst {
				dst[e] = float32(acc[e] / sum)
			}
		}
	}
}
