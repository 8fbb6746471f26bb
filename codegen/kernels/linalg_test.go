package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

func TestGemm(t *testing.T) {
	for i, g := range []*ir.Gemm{
		{Alpha: 1, Beta: 1},
		{Alpha: 0.5, Beta: 2, TransA: true},
		{Alpha: 1.5, Beta: -1, TransB: true},
		{Alpha: 1, Beta: 0.25, TransA: true, TransB: true},
	} {
		a, b := f32(ir.N, ir.D(5)), f32(ir.D(5), ir.D(3))
		if g.TransA {
			a = f32(ir.D(5), ir.N)
		}
		if g.TransB {
			b = f32(ir.D(3), ir.D(5))
		}
		for _, c := range []ir.Shape{{ir.N, ir.D(3)}, {ir.D(3)}, {ir.N, ir.D(1)}, nil} {
			ins := []ir.Type{a, b}
			if c != nil {
				ins = append(ins, f32(c...))
			}
			n := 3
			cs := evalOp(t, n, uint64(i), g, ins...)
			s := GemmOf(cs.node)
			require.Equal(t, c != nil, s.C)
			var cv []float32
			if len(ins) == 3 {
				cv = cs.in[2].F
			}
			y := outBuf(cs.out[0])
			chunks(n, 2, func(lo, hi int) { Gemm(s, n, lo, hi, y, cs.in[0].F, cs.in[1].F, cv) })
			matches(t, guarded(t, y, cs.out[0].Numel()), cs.out[0], ir.Describe(g))
		}
	}
}

func TestMatMul(t *testing.T) {
	for i, sh := range [][2]ir.Shape{
		{{ir.N, ir.D(3), ir.D(4)}, {ir.D(4), ir.D(5)}},
		{{ir.N, ir.D(1), ir.D(3), ir.D(4)}, {ir.D(2), ir.D(4), ir.D(2)}},
		{{ir.D(4)}, {ir.N, ir.D(4), ir.D(3)}},
		{{ir.N, ir.D(4)}, {ir.D(4)}},
		{{ir.D(2), ir.D(3)}, {ir.D(3), ir.D(2)}},
	} {
		c := evalOp(t, 2, uint64(i), ir.Simple{K: ir.KMatMul}, f32(sh[0]...), f32(sh[1]...))
		s, err := MatMulOf(c.node)
		require.NoError(t, err)
		y := outBuf(c.out[0])
		MatMul(s, 2, y, c.in[0].F, c.in[1].F)
		matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], "matmul "+sh[0].String()+"·"+sh[1].String())
	}
	c := evalOp(t, 2, 1, ir.Simple{K: ir.KMatMul}, f32(ir.D(3), ir.D(4)), f32(ir.D(4), ir.N))
	_, err := MatMulOf(c.node)
	require.Error(t, err)
}

func TestConvTranspose(t *testing.T) {
	for i, cv := range []*ir.ConvTranspose2D{
		{Stride: []int{2, 2}, Pad: []int{1, 1, 1, 1}, Dilation: []int{1, 1}, OutPad: []int{1, 1}, Groups: 1},
		{Stride: []int{1, 2}, Pad: []int{0, 1, 0, 1}, Dilation: []int{2, 1}, OutPad: []int{0, 0}, Groups: 2},
	} {
		for _, bias := range []bool{true, false} {
			ins := []ir.Type{f32(ir.N, ir.D(4), ir.D(5), ir.D(3)), f32(ir.D(4), ir.D(3), ir.D(3), ir.D(2))}
			if bias {
				ins = append(ins, f32(ir.D(3*cv.Groups)))
			}
			c := evalOp(t, 2, uint64(i), cv, ins...)
			s := ConvTransposeOf(c.node)
			var b []float32
			if bias {
				b = c.in[2].F
			}
			y := outBuf(c.out[0])
			chunks(s.Planes.At(2), 4, func(lo, hi int) { ConvTranspose(s, 2, lo, hi, y, c.in[0].F, c.in[1].F, b) })
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], ir.Describe(cv))
		}
	}
}

// TestEinsum runs equations of one and two operands — products, batched
// products, transposes, sums, traces, diagonals, outer products,
// broadcasting and implicit outputs — against the evaluator, at two
// batches where an operand holds N.
func TestEinsum(t *testing.T) {
	for i, tc := range []struct {
		eq  string
		ins []ir.Shape
	}{
		{"bij,bjk->bik", []ir.Shape{{ir.N, ir.D(3), ir.D(4)}, {ir.N, ir.D(4), ir.D(5)}}},
		{"ij,jk", []ir.Shape{{ir.N, ir.D(4)}, {ir.D(4), ir.D(3)}}},
		{"i,i", []ir.Shape{{ir.D(5)}, {ir.D(5)}}},
		{"i,j->ij", []ir.Shape{{ir.D(3)}, {ir.N}}},
		{"ij->ji", []ir.Shape{{ir.N, ir.D(3)}}},
		{"ij->i", []ir.Shape{{ir.D(3), ir.N}}},
		{"ii", []ir.Shape{{ir.D(4), ir.D(4)}}},
		{"bii->bi", []ir.Shape{{ir.N, ir.D(3), ir.D(3)}}},
		{"ijk->", []ir.Shape{{ir.D(2), ir.N, ir.D(3)}}},
		{"", []ir.Shape{{}}},
		{"bhqd,bhkd->bhqk", []ir.Shape{{ir.N, ir.D(2), ir.D(3), ir.D(4)}, {ir.D(1), ir.D(2), ir.D(5), ir.D(4)}}},
		{"ij,kj->ikj", []ir.Shape{{ir.D(2), ir.D(1)}, {ir.D(3), ir.D(4)}}},
		{"iij,jk->ki", []ir.Shape{{ir.D(3), ir.D(3), ir.D(2)}, {ir.D(2), ir.N}}},
	} {
		for _, n := range []int{1, 3} {
			ins := make([]ir.Type, len(tc.ins))
			for j, sh := range tc.ins {
				ins[j] = f32(sh...)
			}
			c := evalOp(t, n, uint64(i), &ir.Einsum{Equation: tc.eq}, ins...)
			s, err := EinsumOf(c.node)
			require.NoError(t, err, tc.eq)
			y := outBuf(c.out[0])
			if len(ins) == 1 {
				Einsum1(s, n, y, c.in[0].F)
			} else {
				Einsum2(s, n, y, c.in[0].F, c.in[1].F)
			}
			matches(t, guarded(t, y, c.out[0].Numel()), c.out[0], tc.eq)
		}
	}
	// Three operands and integers are not generated yet.
	c := evalOp(t, 1, 1, &ir.Einsum{Equation: "i,i,i"}, f32(ir.D(2)), f32(ir.D(2)), f32(ir.D(2)))
	_, err := EinsumOf(c.node)
	require.ErrorContains(t, err, "not supported by the generated kernels yet")
	c = evalOp(t, 1, 1, &ir.Einsum{Equation: "ij->j"}, ir.Type{DType: ir.I64, Shape: ir.Shape{ir.D(2), ir.D(3)}})
	_, err = EinsumOf(c.node)
	require.ErrorContains(t, err, "not supported by the generated kernels yet")
}
