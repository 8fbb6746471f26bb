package kernels

import (
	"fmt"
	"slices"
	"strings"

	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// General matrix products and the transposed convolution, pure Go with
// float64 accumulation (as the reference evaluator). What exporters emit
// for a layer with constant weights (Gemm, MatMul by a constant) the ONNX
// importer turns into linear, which runs on codegen/gemm's kernels (see
// Linear); these are for the rest: products of two computed tensors,
// transposed operands, Gemm's alpha, beta and broadcast C.

// GemmShape is ONNX Gemm: y = alpha·op(a)·op(b) + beta·c, op(a) [M×K]
// and op(b) [K×N]. Element (i, p) of op(a) is a[i·AI + p·AP], element
// (p, j) of op(b) is b[p·BP + j·BJ] and element (i, j) of c (when C) is
// c[i·CI + j·CJ], broadcast.
type GemmShape struct {
	Alpha, Beta    float64
	M, N, K        ir.Dim
	AI, AP, BP, BJ ir.Dim
	C              bool
	CI, CJ         ir.Dim
}

// GemmOf returns the shape of a gemm node.
func GemmOf(nd *ir.Node) GemmShape {
	g := nd.Op.(*ir.Gemm)
	a, y := nd.Inputs[0].Type.Shape, nd.Outputs[0].Type.Shape
	s := GemmShape{Alpha: g.Alpha, Beta: g.Beta, M: y[0], N: y[1], K: a[1], AI: a[1], AP: ir.D(1), BP: y[1], BJ: ir.D(1)}
	if g.TransA {
		s.K, s.AI, s.AP = a[0], ir.D(1), y[0]
	}
	if g.TransB {
		s.BP, s.BJ = ir.D(1), s.K
	}
	if len(nd.Inputs) == 3 {
		cs := BroadcastStrides(nd.Inputs[2].Type.Shape, y)
		s.C, s.CI, s.CJ = true, cs[0], cs[1]
	}
	return s
}

// Gemm computes rows [lo, hi) of y.
func Gemm(s GemmShape, n, lo, hi int, y, a, b, c []float32) {
	Alpha, Beta := s.Alpha, s.Beta
	N, K := s.N.At(n), s.K.At(n)
	AI, AP, BP, BJ := s.AI.At(n), s.AP.At(n), s.BP.At(n), s.BJ.At(n)
	for i := lo; i < hi; i++ {
		for j := 0; j < N; j++ {
			var acc float64
			for p := 0; p < K; p++ {
				acc += float64(a[i*AI+p*AP]) * float64(b[p*BP+j*BJ])
			}
			if s.C {
				y[i*N+j] = float32(Alpha*acc + Beta*float64(c[i*s.CI.At(n)+j*s.CJ.At(n)]))
			} else {
				y[i*N+j] = float32(Alpha * acc)
			}
		}
	}
}

// MatMulShape is numpy matmul: matrices [M×K]·[K×N] (1-D operands
// promoted), the batch dimensions broadcast: loops over the result's
// batch dimensions carrying a's and b's matrix indices.
type MatMulShape struct {
	N     int
	M, K  ir.Dim
	Batch tmpl.Nest
}

// MatMulOf returns the shape of a matmul node, whose number of columns
// must not depend on the batch.
func MatMulOf(nd *ir.Node) (MatMulShape, error) {
	as, bs := nd.Inputs[0].Type.Shape, nd.Inputs[1].Type.Shape
	if as.Rank() == 1 {
		as = ir.Shape{ir.D(1), as[0]}
	}
	if bs.Rank() == 1 {
		bs = ir.Shape{bs[0], ir.D(1)}
	}
	m, k, n := as[as.Rank()-2], as[as.Rank()-1], bs[bs.Rank()-1]
	if !n.Static() {
		return MatMulShape{}, fmt.Errorf("matmul with a batch-dependent number of columns (%s) is not supported by the generated kernels yet", n)
	}
	ab, bb := as[:as.Rank()-2], bs[:bs.Rank()-2]
	r := max(ab.Rank(), bb.Rank())
	ob := make(ir.Shape, r)
	for i := range ob {
		ob[i] = ir.D(1)
		if j := i - (r - ab.Rank()); j >= 0 && ab[j] != ir.D(1) {
			ob[i] = ab[j]
		}
		if j := i - (r - bb.Rank()); j >= 0 && bb[j] != ir.D(1) {
			ob[i] = bb[j]
		}
	}
	return MatMulShape{N: n.B, M: m, K: k, Batch: tmpl.Nest{Dims: ob, Steps: [][]ir.Dim{BroadcastStrides(ab, ob), BroadcastStrides(bb, ob)}}}, nil
}

// MatMul multiplies each pair of matrices, rows i then q, with a
// float64 row of the result.
func MatMul(s MatMulShape, n int, y, a, b []float32) {
	N := s.N
	M, K := s.M.At(n), s.K.At(n)
	acc := make([]float64, N)
	o := 0
	for p := range s.Batch.Each(n, 0, 0) {
		ym, am, bm := y[o*M*N:(o+1)*M*N], a[p[0]*M*K:(p[0]+1)*M*K], b[p[1]*K*N:(p[1]+1)*K*N]
		for i := 0; i < M; i++ {
			clear(acc)
			for q := 0; q < K; q++ {
				av := float64(am[i*K+q])
				for j, bv := range bm[q*N : (q+1)*N] {
					acc[j] += av * float64(bv)
				}
			}
			for j, v := range acc {
				ym[i*N+j] = float32(v)
			}
		}
		o++
	}
}

// ConvTransposeShape is a transposed 2-D convolution on NCHW.
type ConvTransposeShape struct {
	CI, H, W, CO, KH, KW, OH, OW, Groups int
	SH, SW, PT, PL, DH, DW               int
	Bias                                 bool
	Planes                               ir.Dim // the parallel items: output planes
}

// ConvTransposeOf returns the shape of a transposed convolution node.
func ConvTransposeOf(nd *ir.Node) ConvTransposeShape {
	cv := nd.Op.(*ir.ConvTranspose2D)
	x, w, y := nd.Inputs[0].Type.Shape, nd.Inputs[1].Type.Shape, nd.Outputs[0].Type.Shape
	return ConvTransposeShape{CI: x[1].B, H: x[2].B, W: x[3].B, CO: y[1].B, KH: w[2].B, KW: w[3].B, OH: y[2].B, OW: y[3].B,
		Groups: cv.Groups, SH: cv.Stride[0], SW: cv.Stride[1], PT: cv.Pad[0], PL: cv.Pad[1], DH: cv.Dilation[0], DW: cv.Dilation[1],
		Bias: len(nd.Inputs) == 3, Planes: x[0].MulInt(y[1].B)}
}

// ConvTranspose computes output planes [lo, hi), gathering from the
// input channels of each plane's group, as the evaluator does.
func ConvTranspose(s ConvTransposeShape, n, lo, hi int, y, x, w, bias []float32) {
	CI, H, W, CO, KH, KW, OH, OW := s.CI, s.H, s.W, s.CO, s.KH, s.KW, s.OH, s.OW
	CIG, COG := CI/s.Groups, CO/s.Groups
	SH, SW, PT, PL, DH, DW := s.SH, s.SW, s.PT, s.PL, s.DH, s.DW
	acc := make([]float64, OH*OW)
	for pl := lo; pl < hi; pl++ {
		b, ch := pl/CO, pl%CO
		gi, oc := ch/COG, ch%COG
		var b0 float64
		if s.Bias {
			b0 = float64(bias[ch])
		}
		for i := range acc {
			acc[i] = b0
		}
		for cc := 0; cc < CIG; cc++ {
			cin := gi*CIG + cc
			plane := x[(b*CI+cin)*H*W:][:H*W]
			taps := w[(cin*COG+oc)*KH*KW:][:KH*KW]
			for iy := 0; iy < H; iy++ {
				for ix := 0; ix < W; ix++ {
					v := float64(plane[iy*W+ix])
					for i := 0; i < KH; i++ {
						oy := iy*SH - PT + i*DH
						if oy < 0 || oy >= OH {
							continue
						}
						for j := 0; j < KW; j++ {
							if ox := ix*SW - PL + j*DW; ox >= 0 && ox < OW {
								acc[oy*OW+ox] += v * float64(taps[i*KW+j])
							}
						}
					}
				}
			}
		}
		dst := y[pl*OH*OW : (pl+1)*OH*OW]
		for i, v := range acc {
			dst[i] = float32(v)
		}
	}
}

// EinsumShape is Einstein summation of one or two operands: loops over
// the result's labels (Out, in the output's order, so the result is
// written row-major) and, inside, over the labels summed away (Sum, in
// the order they first occur in the operands, as the evaluator sums
// them), each carrying every operand's offset. An operand steps along a
// label by the sum of its strides on the dimensions the label names (a
// label repeated in one operand walks its diagonal), and by 0 where it
// lacks the label or broadcasts it (size 1).
type EinsumShape struct {
	Out, Sum tmpl.Nest
}

// EinsumOf returns the shape of an einsum node of one or two float
// operands.
func EinsumOf(nd *ir.Node) (EinsumShape, error) {
	if len(nd.Inputs) > 2 {
		return EinsumShape{}, fmt.Errorf("einsum of %d operands is not supported by the generated kernels yet", len(nd.Inputs))
	}
	ranks := make([]int, len(nd.Inputs))
	for i, v := range nd.Inputs {
		if !v.Type.DType.IsFloat() {
			return EinsumShape{}, fmt.Errorf("einsum on %s is not supported by the generated kernels yet", v.Type.DType)
		}
		ranks[i] = v.Type.Shape.Rank()
	}
	ins, out, err := ir.EinsumLabels(nd.Op.(*ir.Einsum).Equation, ranks)
	if err != nil {
		return EinsumShape{}, fmt.Errorf("BUG: einsum: %v (the verifier parsed it)", err)
	}
	// Each label's size: the first operand's that is not 1, as
	// inferEinsum's; the summed labels in order of first occurrence.
	size := map[rune]ir.Dim{}
	var sum []rune
	for i, p := range ins {
		for j, r := range p {
			d := nd.Inputs[i].Type.Shape[j]
			if s, ok := size[r]; !ok || s == ir.D(1) {
				size[r] = d
			}
			if !strings.ContainsRune(out, r) && !slices.Contains(sum, r) {
				sum = append(sum, r)
			}
		}
	}
	nest := func(labels []rune) tmpl.Nest {
		l := tmpl.Nest{Steps: make([][]ir.Dim, len(ins))}
		for _, r := range labels {
			l.Dims = append(l.Dims, size[r])
		}
		for i, p := range ins {
			sh := nd.Inputs[i].Type.Shape
			st := RowStrides(sh)
			l.Steps[i] = make([]ir.Dim, len(labels))
			for k, r := range labels {
				l.Steps[i][k] = ir.D(0)
				for j, q := range p {
					if q == r && sh[j] != ir.D(1) {
						l.Steps[i][k] = l.Steps[i][k].Add(st[j])
					}
				}
			}
		}
		return l
	}
	return EinsumShape{Out: nest([]rune(out)), Sum: nest(sum)}, nil
}

// Einsum1 sums a over the summed labels into each result, in float64.
func Einsum1(s EinsumShape, n int, y, a []float32) {
	o := 0
	for p := range s.Out.Each(n, 0) {
		acc := 0.0
		for q := range s.Sum.Each(n, p[0]) {
			acc += float64(a[q[0]])
		}
		y[o] = float32(acc)
		o++
	}
}

// Einsum2 sums the products of a's and b's elements over the summed
// labels into each result, in float64.
func Einsum2(s EinsumShape, n int, y, a, b []float32) {
	o := 0
	for p := range s.Out.Each(n, 0, 0) {
		acc := 0.0
		for q := range s.Sum.Each(n, p[0], p[1]) {
			acc += float64(a[q[0]]) * float64(b[q[1]])
		}
		y[o] = float32(acc)
		o++
	}
}
