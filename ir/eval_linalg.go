package ir

import (
	"fmt"
	"math"
)

// Dense algebra and normalisation in the evaluator.

func evalLinear(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	x, w := in[0], in[1]
	k, n := w.Shape[1], w.Shape[0]
	m := x.Numel() / max(k, 1)
	if k == 0 {
		m = numel(x.Shape[:len(x.Shape)-1])
	}
	acc := make([]float64, m*n)
	gemm64(m, n, k, rowMajor(x.F, 0, k), transposed(w.F, 0, k), acc, c.threads)
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	e := op.(*Linear).Epilogue
	bias, resid := epilogueInputs(e, in)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := acc[i*n+j]
			if bias != nil {
				v += float64(bias.F[j])
			}
			if resid != nil {
				v += float64(resid.F[i*n+j])
			}
			res.F[i*n+j] = float32(e.Apply(v))
		}
	}
	return []*Tensor{res}, nil
}

func evalGemm(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	g := op.(*Gemm)
	a, b := in[0], in[1]
	shape := out[0].Shape.Ints()
	m, n := shape[0], shape[1]
	k := a.Shape[1]
	av := rowMajor(a.F, 0, a.Shape[1])
	if g.TransA {
		k = a.Shape[0]
		av = transposed(a.F, 0, a.Shape[1])
	}
	bv := rowMajor(b.F, 0, b.Shape[1])
	if g.TransB {
		bv = transposed(b.F, 0, b.Shape[1])
	}
	acc := make([]float64, m*n)
	gemm64(m, n, k, av, bv, acc, c.threads)
	res := NewTensor(out[0].DType, shape)
	cs := make([]int, len(shape))
	if len(in) == 3 {
		cs = bstrides(in[2].Shape, shape)
	}
	forIndex(shape, [][]int{cs}, func(o int, offs []int) {
		v := g.Alpha * acc[o]
		if len(in) == 3 {
			v += g.Beta * float64(in[2].F[offs[0]])
		}
		res.F[o] = float32(v)
	})
	return []*Tensor{res}, nil
}

func evalMatMul(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	a, b := in[0], in[1]
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	batchShape := broadcastInts(as[:len(as)-2], bs[:len(bs)-2])
	nb := numel(batchShape)
	// Per-batch matrix offsets of a and b under broadcasting.
	aOff, bOff := make([]int, nb), make([]int, nb)
	sa := bstrides(as[:len(as)-2], batchShape)
	sb := bstrides(bs[:len(bs)-2], batchShape)
	forIndex(batchShape, [][]int{sa, sb}, func(o int, offs []int) {
		aOff[o], bOff[o] = offs[0]*m*k, offs[1]*k*n
	})
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	work := func(i, threads int, acc []float64) {
		gemm64(m, n, k, rowMajor(a.F, aOff[i], k), rowMajor(b.F, bOff[i], n), acc, threads)
		for j, v := range acc {
			res.F[i*m*n+j] = float32(v)
		}
	}
	if nb >= c.threads && m*n*k < 1<<20 {
		parallelFor(c.threads, nb, func(lo, hi int) {
			acc := make([]float64, m*n)
			for i := lo; i < hi; i++ {
				work(i, 1, acc)
			}
		})
	} else {
		acc := make([]float64, m*n)
		for i := 0; i < nb; i++ {
			work(i, c.threads, acc)
		}
	}
	return []*Tensor{res}, nil
}

func broadcastInts(a, b []int) []int {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range [][]int{a, b} {
		off := r - len(s)
		for i, d := range s {
			if d != 1 {
				out[off+i] = d
			}
		}
	}
	return out
}

func evalConv2D(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cv := op.(*Conv2D)
	x, w := in[0], in[1]
	if cv.Pre {
		x = applyPrologue(cv.Prologue, x, in[len(in)-2], in[len(in)-1])
		in = in[:len(in)-2]
	}
	oshape := out[0].Shape.Ints()
	nb, ci, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	co, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	oh, ow := oshape[2], oshape[3]
	g := cv.Groups
	cig, cog := ci/g, co/g
	ckk, p := cig*kh*kw, oh*ow
	res := NewTensor(out[0].DType, oshape)
	biasT, resid := epilogueInputs(cv.Epilogue, in)
	perImage := func(b, threads int, col []float32, acc []float64) {
		for gi := 0; gi < g; gi++ {
			// im2col: row (c, i, j) of col holds the input pixel each
			// output position sees through kernel tap (i, j) of channel c.
			for cc := 0; cc < cig; cc++ {
				plane := x.F[((b*ci)+gi*cig+cc)*h*wd:]
				for i := 0; i < kh; i++ {
					for j := 0; j < kw; j++ {
						row := col[((cc*kh+i)*kw+j)*p:]
						for y := 0; y < oh; y++ {
							iy := y*cv.Stride[0] - cv.Pad[0] + i*cv.Dilation[0]
							for xx := 0; xx < ow; xx++ {
								ix := xx*cv.Stride[1] - cv.Pad[1] + j*cv.Dilation[1]
								var v float32
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									v = plane[iy*wd+ix]
								}
								row[y*ow+xx] = v
							}
						}
					}
				}
			}
			gemm64(cog, p, ckk, rowMajor(w.F, gi*cog*ckk, ckk), rowMajor(col, 0, p), acc, threads)
			for o := 0; o < cog; o++ {
				ch := gi*cog + o
				var bias float64
				if biasT != nil {
					bias = float64(biasT.F[ch])
				}
				dst := res.F[(b*co+ch)*p : (b*co+ch+1)*p]
				for q := range dst {
					v := acc[o*p+q] + bias
					if resid != nil {
						v += float64(resid.F[(b*co+ch)*p+q])
					}
					dst[q] = float32(cv.Apply(v))
				}
			}
		}
	}
	eachImage(c, nb, ckk*p, cog*p, perImage)
	return []*Tensor{res}, nil
}

func evalConvTranspose2D(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	cv := op.(*ConvTranspose2D)
	x, w := in[0], in[1]
	oshape := out[0].Shape.Ints()
	nb, ci, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	kh, kw := w.Shape[2], w.Shape[3]
	co, oh, ow := oshape[1], oshape[2], oshape[3]
	g := cv.Groups
	cig, cog := ci/g, co/g
	res := NewTensor(out[0].DType, oshape)
	// One output plane per work item: it gathers from the cig input
	// channels of its group.
	parallelFor(c.threads, nb*co, func(lo, hi int) {
		acc := make([]float64, oh*ow)
		for pl := lo; pl < hi; pl++ {
			b, ch := pl/co, pl%co
			gi, o := ch/cog, ch%cog
			var bias float64
			if len(in) == 3 {
				bias = float64(in[2].F[ch])
			}
			for i := range acc {
				acc[i] = bias
			}
			for cc := 0; cc < cig; cc++ {
				cin := gi*cig + cc
				plane := x.F[(b*ci+cin)*h*wd:]
				taps := w.F[(cin*cog+o)*kh*kw:]
				for y := 0; y < h; y++ {
					for xx := 0; xx < wd; xx++ {
						v := float64(plane[y*wd+xx])
						for i := 0; i < kh; i++ {
							oy := y*cv.Stride[0] - cv.Pad[0] + i*cv.Dilation[0]
							if oy < 0 || oy >= oh {
								continue
							}
							for j := 0; j < kw; j++ {
								ox := xx*cv.Stride[1] - cv.Pad[1] + j*cv.Dilation[1]
								if ox >= 0 && ox < ow {
									acc[oy*ow+ox] += v * float64(taps[i*kw+j])
								}
							}
						}
					}
				}
			}
			dst := res.F[pl*oh*ow : (pl+1)*oh*ow]
			for i, v := range acc {
				dst[i] = float32(v)
			}
		}
	})
	return []*Tensor{res}, nil
}

func evalBatchNorm(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	eps := op.(*BatchNorm).Eps
	x, scale, bias, mean, vr := in[0], in[1], in[2], in[3], in[4]
	ch := x.Shape[1]
	inner := numel(x.Shape[2:])
	res := NewTensor(out[0].DType, x.Shape)
	outer := x.Shape[0]
	for b := 0; b < outer; b++ {
		for cc := 0; cc < ch; cc++ {
			m, s := float64(mean.F[cc]), float64(scale.F[cc])/math.Sqrt(float64(vr.F[cc])+eps)
			sh := float64(bias.F[cc])
			off := (b*ch + cc) * inner
			for i := off; i < off+inner; i++ {
				res.F[i] = float32((float64(x.F[i])-m)*s + sh)
			}
		}
	}
	return []*Tensor{res}, nil
}

func evalLayerNorm(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	ln := op.(*LayerNorm)
	x := in[0]
	axis, _ := normAxis(ln.Axis, len(x.Shape))
	inner := numel(x.Shape[axis:])
	rows := numel(x.Shape[:axis])
	res := NewTensor(out[0].DType, x.Shape)
	parallelFor(c.threads, rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x.F[r*inner : (r+1)*inner]
			var sum float64
			for _, v := range row {
				sum += float64(v)
			}
			mean := sum / float64(inner)
			var ss float64
			for _, v := range row {
				d := float64(v) - mean
				ss += d * d
			}
			inv := 1 / math.Sqrt(ss/float64(inner)+ln.Eps)
			dst := res.F[r*inner : (r+1)*inner]
			for i, v := range row {
				y := (float64(v) - mean) * inv
				if len(in) >= 2 {
					y *= float64(in[1].F[i])
				}
				if len(in) == 3 {
					y += float64(in[2].F[i])
				}
				dst[i] = float32(y)
			}
		}
	})
	return []*Tensor{res}, nil
}

// axisSplit returns (outer, n, inner) for a row op along axis.
func axisSplit(shape []int, axis int) (int, int, int) {
	return numel(shape[:axis]), shape[axis], numel(shape[axis+1:])
}

func evalSoftmax(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	sm := op.(*Softmax)
	x := in[0]
	axis, _ := normAxis(sm.Axis, len(x.Shape))
	outer, n, inner := axisSplit(x.Shape, axis)
	res := NewTensor(out[0].DType, x.Shape)
	log := sm.K == KLogSoftmax
	parallelFor(c.threads, outer*inner, func(lo, hi int) {
		buf := make([]float64, n)
		for r := lo; r < hi; r++ {
			o, i := r/inner, r%inner
			base := o*n*inner + i
			for j := 0; j < n; j++ {
				buf[j] = float64(x.F[base+j*inner])
			}
			softmaxRow(buf, log)
			for j := 0; j < n; j++ {
				res.F[base+j*inner] = float32(buf[j])
			}
		}
	})
	return []*Tensor{res}, nil
}

// softmaxRow replaces v by softmax(v) (or log-softmax) in place. A row of
// all −inf gives NaN, as PyTorch does.
func softmaxRow(v []float64, log bool) {
	m := math.Inf(-1)
	for _, x := range v {
		if x > m || x != x {
			m = x
		}
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	if log {
		ls := math.Log(s)
		for i, x := range v {
			v[i] = x - m - ls
		}
		return
	}
	for i, x := range v {
		v[i] = math.Exp(x-m) / s
	}
}

func evalAttention(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	at := op.(*Attention)
	q, k, v := in[0], in[1], in[2]
	B, T, D := q.Shape[0], q.Shape[1], q.Shape[2]
	S, Dv := k.Shape[1], v.Shape[2]
	H := at.Heads
	dh, dv := D/H, Dv/H
	res := NewTensor(out[0].DType, out[0].Shape.Ints())
	parallelFor(c.threads, B*H, func(lo, hi int) {
		row := make([]float64, S)
		acc := make([]float64, dv)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			for t := 0; t < T; t++ {
				qr := q.F[(b*T+t)*D+h*dh:][:dh]
				for s := 0; s < S; s++ {
					if at.Causal && s > t {
						row[s] = math.Inf(-1)
						continue
					}
					kr := k.F[(b*S+s)*D+h*dh:][:dh]
					var dot float64
					for d, qv := range qr {
						dot += float64(qv) * float64(kr[d])
					}
					row[s] = at.Scale * dot
				}
				softmaxRow(row, false)
				for e := range acc {
					acc[e] = 0
				}
				for s, p := range row {
					vr := v.F[(b*S+s)*Dv+h*dv:][:dv]
					for e, vv := range vr {
						acc[e] += p * float64(vv)
					}
				}
				dst := res.F[(b*T+t)*Dv+h*dv:][:dv]
				for e, a := range acc {
					dst[e] = float32(a)
				}
			}
		}
	})
	return []*Tensor{res}, nil
}

// evalEmbedding looks rows up as PyTorch's nn.Embedding does: an id
// outside [0, V) is an error (negative ids do not count from the end, as
// gather's indices do), the same error the generated kernel returns.
func evalEmbedding(c *evalCtx, op Op, in []*Tensor, out []Type) ([]*Tensor, error) {
	v := int64(in[1].Shape[0])
	for i, id := range in[0].I {
		if id < 0 || id >= v {
			return nil, fmt.Errorf("id %d at position %d is outside [0, %d)", id, i, v)
		}
	}
	return gatherRows(in[1], in[0], 0, out[0].Shape.Ints())
}

// applyPrologue returns x[N, C, …] with each element replaced by its
// prologue (Prologue.ApplyPre) with its channel's scale and shift; the
// convolution then pads the result with zeros.
func applyPrologue(p Prologue, x, scale, shift *Tensor) *Tensor {
	res := NewTensor(x.DType, x.Shape)
	ch, inner := x.Shape[1], numel(x.Shape[2:])
	for i, v := range x.F {
		c := i / inner % ch
		res.F[i] = p.ApplyPre(v, scale.F[c], shift.F[c])
	}
	return res
}

// epilogueInputs returns the bias and residual inputs of a linear or
// conv2d (nil when absent).
func epilogueInputs(e Epilogue, in []*Tensor) (bias, resid *Tensor) {
	rest := in[2:]
	if e.Residual {
		resid, rest = rest[len(rest)-1], rest[:len(rest)-1]
	}
	if len(rest) == 1 {
		bias = rest[0]
	}
	return bias, resid
}

// eachImage runs a convolution's perImage over nb images: across the
// threads by image when there are as many images, else one image at a
// time with the threads inside it. Each worker has its own im2col (ncol)
// and accumulator (nacc) buffers.
func eachImage(c *evalCtx, nb, ncol, nacc int, perImage func(b, threads int, col []float32, acc []float64)) {
	if nb >= c.threads {
		parallelFor(c.threads, nb, func(lo, hi int) {
			col, acc := make([]float32, ncol), make([]float64, nacc)
			for b := lo; b < hi; b++ {
				perImage(b, 1, col, acc)
			}
		})
		return
	}
	col, acc := make([]float32, ncol), make([]float64, nacc)
	for b := 0; b < nb; b++ {
		perImage(b, c.threads, col, acc)
	}
}
