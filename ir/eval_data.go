package ir

import (
	"fmt"
	"math"
)

// Data movement, pooling and reductions in the evaluator.

// same returns a tensor sharing x's data under a new shape; the evaluator
// never writes a tensor after creating it, so sharing is safe.
func same(x *Tensor, t Type) *Tensor {
	return &Tensor{DType: x.DType, Shape: t.Shape.Ints(), F: x.F, I: x.I}
}

func evalReshape(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	return []*Tensor{same(in[0], out[0])}, nil
}

// gatherStrided copies x into a new tensor of shape `shape`, reading
// element o from base + Σ idx·st.
func gatherStrided(x *Tensor, dt DType, shape []int, base int, st []int) *Tensor {
	res := NewTensor(dt, shape)
	forIndex(shape, [][]int{st}, func(o int, offs []int) {
		if res.F != nil {
			res.F[o] = x.F[base+offs[0]]
		} else {
			res.I[o] = x.I[base+offs[0]]
		}
	})
	return res
}

func evalTranspose(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	perm := op.(*Transpose).Perm
	xs := strides(x.Shape)
	st := make([]int, len(perm))
	for i, p := range perm {
		st[i] = xs[p]
	}
	return []*Tensor{gatherStrided(x, x.DType, out[0].Shape.Ints(), 0, st)}, nil
}

func evalSlice(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	starts, _, steps, _, err := op.(*Slice).Resolve(StaticShape(x.Shape...))
	if err != nil {
		return nil, err
	}
	xs := strides(x.Shape)
	base := 0
	st := make([]int, len(xs))
	for i := range xs {
		base += starts[i] * xs[i]
		st[i] = steps[i] * xs[i]
	}
	return []*Tensor{gatherStrided(x, x.DType, out[0].Shape.Ints(), base, st)}, nil
}

func evalExpand(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	shape := out[0].Shape.Ints()
	return []*Tensor{gatherStrided(in[0], in[0].DType, shape, 0, bstrides(in[0].Shape, shape))}, nil
}

func evalConcat(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	shape := out[0].Shape.Ints()
	axis, _ := normAxis(op.(*Concat).Axis, len(shape))
	res := NewTensor(out[0].DType, shape)
	outer, total, inner := axisSplit(shape, axis)
	at := 0
	for _, x := range in {
		n := x.Shape[axis] * inner
		for o := 0; o < outer; o++ {
			dst := o*total*inner + at*inner
			src := o * n
			if res.F != nil {
				copy(res.F[dst:dst+n], x.F[src:src+n])
			} else {
				copy(res.I[dst:dst+n], x.I[src:src+n])
			}
		}
		at += x.Shape[axis]
	}
	return []*Tensor{res}, nil
}

func evalSplit(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	axis, _ := normAxis(op.(*Split).Axis, len(x.Shape))
	outer, total, inner := axisSplit(x.Shape, axis)
	res := make([]*Tensor, len(out))
	at := 0
	for i, t := range out {
		shape := t.Shape.Ints()
		r := NewTensor(t.DType, shape)
		n := shape[axis] * inner
		for o := 0; o < outer; o++ {
			src := o*total*inner + at*inner
			if r.F != nil {
				copy(r.F[o*n:(o+1)*n], x.F[src:src+n])
			} else {
				copy(r.I[o*n:(o+1)*n], x.I[src:src+n])
			}
		}
		at += shape[axis]
		res[i] = r
	}
	return res, nil
}

func evalPad(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	p := op.(*Pad)
	x := in[0]
	shape := out[0].Shape.Ints()
	r := len(shape)
	res := NewTensor(out[0].DType, shape)
	for i := range res.F {
		res.F[i] = float32(p.Value)
	}
	for i := range res.I {
		res.I[i] = int64(p.Value)
	}
	os := strides(shape)
	idx := make([]int, r)
	for o := 0; o < x.Numel(); o++ {
		// idx is the multi-index of input element o.
		dst, inside := 0, true
		for d := 0; d < r; d++ {
			j := idx[d] + p.Pads[d]
			if j < 0 || j >= shape[d] {
				inside = false
				break
			}
			dst += j * os[d]
		}
		if inside {
			if res.F != nil {
				res.F[dst] = x.F[o]
			} else {
				res.I[dst] = x.I[o]
			}
		}
		for d := r - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < x.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return []*Tensor{res}, nil
}

// gatherRows implements take(data, idx, axis) into a result of shape.
func gatherRows(data, idx *Tensor, axis int, shape []int) ([]*Tensor, error) {
	outer, n, inner := axisSplit(data.Shape, axis)
	res := NewTensor(data.DType, shape)
	ni := idx.Numel()
	for o := 0; o < outer; o++ {
		for j := 0; j < ni; j++ {
			k := idx.I[j]
			if k < 0 {
				k += int64(n)
			}
			if k < 0 || k >= int64(n) {
				return nil, fmt.Errorf("index %d out of range [-%d, %d)", idx.I[j], n, n)
			}
			src := (o*n + int(k)) * inner
			dst := (o*ni + j) * inner
			if res.F != nil {
				copy(res.F[dst:dst+inner], data.F[src:src+inner])
			} else {
				copy(res.I[dst:dst+inner], data.I[src:src+inner])
			}
		}
	}
	return []*Tensor{res}, nil
}

func evalGather(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	axis, _ := normAxis(op.(*Gather).Axis, len(in[0].Shape))
	return gatherRows(in[0], in[1], axis, out[0].Shape.Ints())
}

func evalMaxPool(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	p := op.(*MaxPool)
	return pool2d(c, in[0], out[0], p.Kernel, p.Stride, p.Pad, p.Dilation, func(vals []float64, _ int) float64 {
		m := math.Inf(-1)
		for _, v := range vals {
			if v > m || v != v {
				m = v
			}
			if m != m {
				break
			}
		}
		return m
	})
}

func evalAvgPool(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	p := op.(*AvgPool)
	return pool2d(c, in[0], out[0], p.Kernel, p.Stride, p.Pad, []int{1, 1}, func(vals []float64, padded int) float64 {
		var s float64
		for _, v := range vals {
			s += v
		}
		n := len(vals)
		if p.CountIncludePad {
			n = padded
		}
		return s / float64(n)
	})
}

// pool2d visits every window; reduce gets the in-bounds values and the
// number of window cells inside the padded input (for count_include_pad).
func pool2d(c *evalCtx, x *Tensor, t Type, kernel, stride, pad, dil []int, reduce func(vals []float64, padded int) float64) ([]*Tensor, error) {
	shape := t.Shape.Ints()
	planes, h, w := x.Shape[0]*x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := shape[2], shape[3]
	res := NewTensor(t.DType, shape)
	parallelFor(c.threads, planes, func(lo, hi int) {
		vals := make([]float64, 0, kernel[0]*kernel[1])
		for pl := lo; pl < hi; pl++ {
			src := x.F[pl*h*w : (pl+1)*h*w]
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					vals = vals[:0]
					padded := 0
					for i := 0; i < kernel[0]; i++ {
						iy := y*stride[0] - pad[0] + i*dil[0]
						for j := 0; j < kernel[1]; j++ {
							ix := xx*stride[1] - pad[1] + j*dil[1]
							if iy < h+pad[2] && ix < w+pad[3] {
								padded++
							}
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								vals = append(vals, float64(src[iy*w+ix]))
							}
						}
					}
					res.F[(pl*oh+y)*ow+xx] = float32(reduce(vals, padded))
				}
			}
		}
	})
	return []*Tensor{res}, nil
}

func evalGlobalAvgPool(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x := in[0]
	planes := x.Shape[0] * x.Shape[1]
	inner := numel(x.Shape[2:])
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	for p := 0; p < planes; p++ {
		var s float64
		for _, v := range x.F[p*inner : (p+1)*inner] {
			s += float64(v)
		}
		res.F[p] = float32(s / float64(inner))
	}
	return []*Tensor{res}, nil
}

// evalTable maps each op kind to its evaluator.
var evalTable = [numKinds]evalFunc{
	KLinear:          evalLinear,
	KGemm:            evalGemm,
	KMatMul:          evalMatMul,
	KConv2D:          evalConv2D,
	KConvTranspose2D: evalConvTranspose2D,
	KBatchNorm:       evalBatchNorm,
	KLayerNorm:       evalLayerNorm,
	KAdd:             evalBinary,
	KSub:             evalBinary,
	KMul:             evalBinary,
	KDiv:             evalBinary,
	KPow:             evalBinary,
	KRelu:            unaryF(relu),
	KLeakyRelu:       evalLeakyRelu,
	KSigmoid:         unaryF(sigmoid),
	KTanh:            unaryF(math.Tanh),
	KGelu:            evalGelu,
	KErf:             unaryF(math.Erf),
	KExp:             unaryF(math.Exp),
	KLog:             unaryF(math.Log),
	KSqrt:            unaryF(math.Sqrt),
	KNeg:             unaryNum(func(x float64) float64 { return -x }, func(x int64) int64 { return -x }),
	KAbs:             unaryNum(math.Abs, func(x int64) int64 { return max(x, -x) }),
	KHardSigmoid:     evalHardSigmoid,
	KHardSwish:       unaryF(hardswish),
	KClip:            evalClip,
	KSoftmax:         evalSoftmax,
	KLogSoftmax:      evalSoftmax,
	KReshape:         evalReshape,
	KTranspose:       evalTranspose,
	KFlatten:         evalReshape,
	KConcat:          evalConcat,
	KSplit:           evalSplit,
	KSlice:           evalSlice,
	KPad:             evalPad,
	KExpand:          evalExpand,
	KWhere:           evalWhere,
	KGather:          evalGather,
	KCast:            evalCast,
	KMaxPool:         evalMaxPool,
	KAvgPool:         evalAvgPool,
	KGlobalAvgPool:   evalGlobalAvgPool,
	KReduceMean:      evalReduce,
	KReduceSum:       evalReduce,
	KEmbedding:       evalEmbedding,
	KAttention:       evalAttention,
	KRelayout:        evalRelayout,
}

// evalRelayout is the identity: a relayout changes only the physical
// layout, which the evaluator ignores.
func evalRelayout(_ *evalCtx, _ Op, in []*Tensor, _ []Type) ([]*Tensor, error) {
	return []*Tensor{in[0]}, nil
}
