package drivers

import (
	"math"
	"unsafe"

	"github.com/modelc/modelc/runtime/numerics"
)

// ElementwiseShape is an isa.Elementwise driver: Op ("relu", "affine",
// "add", "sub" or "mul") on vectors of Lanes floats; Micro is the
// microkernel, func(a *ewArgs): the op over a.vectors whole vectors.
type ElementwiseShape struct {
	Lanes int
	Op    string
	Micro func(a *ewArgs)
}

// Elementwise runs the op on dst's whole vectors and returns how many
// elements it did.
func Elementwise(sh ElementwiseShape, dst, a, b []float32, s, t float32) int {
	n := len(dst) / sh.Lanes * sh.Lanes
	if n == 0 {
		return 0
	}
	_ = a[n-1]
	args := ewArgs{dst: unsafe.Pointer(&dst[0]), a: unsafe.Pointer(&a[0]), vectors: n / sh.Lanes}
	switch sh.Op {
	case "relu":
	case "affine":
		args.s, args.t = s, t
	default:
		_ = b[n-1]
		args.b = unsafe.Pointer(&b[0])
	}
	sh.Micro(&args)
	return n
}

// LayerNormShape is an isa.LayerNorm driver for rows of I floats (whole
// vectors); Micro is the microkernel, func(a *lnArgs). A Plain kernel
// reads neither g nor b (bn-fold moved them into the linears after it).
type LayerNormShape struct {
	I     int
	Beta  bool
	Plain bool
	Micro func(a *lnArgs)
}

// LayerNorm runs rows [lo, hi).
func LayerNorm(sh LayerNormShape, lo, hi int, dst, x, g, b []float32, eps float32) {
	I := sh.I
	if lo >= hi {
		return
	}
	_, _ = dst[hi*I-1], x[hi*I-1]
	a := lnArgs{src: unsafe.Pointer(&x[lo*I]), dst: unsafe.Pointer(&dst[lo*I]), rows: hi - lo, eps: eps, invI: 1 / float32(I), one: 1}
	if !sh.Plain {
		_ = g[I-1]
		a.gamma = unsafe.Pointer(&g[0])
		if sh.Beta {
			_ = b[I-1]
			a.beta = unsafe.Pointer(&b[0])
		}
	}
	sh.Micro(&a)
}

// SoftmaxShape is an isa.Softmax driver for rows of L floats; Micro is
// the microkernel, func(src, dst *float32, rows int, consts *float32,
// tail *int32) with consts numerics.ExpVec; with Mask, tail points at
// Lanes int32s, −1 in the lanes of the row's last partial vector.
type SoftmaxShape struct {
	L, Lanes int
	Mask     bool
	Micro    func(src, dst *float32, rows int, consts *float32, tail *int32)
}

// Softmax runs rows [lo, hi).
func Softmax(sh SoftmaxShape, lo, hi int, dst, x []float32) {
	L := sh.L
	if lo >= hi {
		return
	}
	_, _ = dst[hi*L-1], x[hi*L-1]
	if sh.Mask {
		tail := make([]int32, sh.Lanes)
		for i := range L % sh.Lanes {
			tail[i] = -1
		}
		sh.Micro(&x[lo*L], &dst[lo*L], hi-lo, &numerics.ExpVec[0][0], &tail[0])
	} else {
		sh.Micro(&x[lo*L], &dst[lo*L], hi-lo, &numerics.ExpVec[0][0], nil)
	}
}

// AttentionShape is an isa.Attention driver: per (batch, head) item it
// packs K's rows into P1 panels of PW1 columns (negated, as gemm.Pack
// does, and scaled, so the scores come out scaled), computes the scores
// into a padded buffer with QK (a Strided driver over the packed K),
// turns each row into probabilities with Softmax (a Softmax driver over
// S; causal positions set to −Inf first) and multiplies them by V, read
// in place, with PV (a Strided driver with V's rows Dv apart), straight
// into the output. KP, SC and PR are the scratch per item: packed K, the
// scores, the probabilities.
type AttentionShape struct {
	T, S, D, Dv, H int
	Scale          float64
	Causal         bool
	PW1, P1, PW2   int
	KP, SC, PR     int
	QK             func(m int, x []float32, lda int, wp []float32, y []float32, ldc int)
	PV             func(m int, x []float32, lda int, wp []float32, y []float32, ldc int)
	Softmax        func(lo, hi int, dst, x []float32)
}

// Attention computes items [lo, hi) (batch·H + head).
func Attention(sh AttentionShape, lo, hi int, o, q, k, v, scratch []float32) {
	T, S, D, Dv, H := sh.T, sh.S, sh.D, sh.Dv, sh.H
	dh, dv := D/H, Dv/H
	PW1, S1, Scale := sh.PW1, sh.P1*sh.PW1, float32(sh.Scale)
	KP, SC, PR := sh.KP, sh.SC, sh.PR
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		item := scratch[bh*(KP+SC+PR) : (bh+1)*(KP+SC+PR)]
		kpi, sci, pri := item[:KP], item[KP:KP+SC], item[KP+SC:]
		// K packed in panels of PW1 columns, negated for the kernels and
		// scaled; d outer, so the stores run along the panel's rows.
		for p := 0; p < S1/PW1; p++ {
			panel := kpi[p*dh*PW1 : (p+1)*dh*PW1]
			s0, s1 := p*PW1, min((p+1)*PW1, S)
			for d := 0; d < dh; d++ {
				dst := panel[d*PW1 : (d+1)*PW1]
				src := k[(b*S+s0)*D+h*dh+d:]
				for j := range s1 - s0 {
					dst[j] = -Scale * src[j*D]
				}
				clear(dst[s1-s0:])
			}
		}
		sh.QK(T, q[b*T*D+h*dh:], D, kpi, sci, S1)
		// The scores' rows (S1 floats apart) are copied into T×S
		// probabilities, causal positions set to −Inf (exp gives 0), and
		// the softmax runs on all T rows at once.
		for t := 0; t < T; t++ {
			row := pri[t*S : (t+1)*S]
			copy(row, sci[t*S1:t*S1+S])
			if sh.Causal {
				for s := t + 1; s < S; s++ {
					row[s] = float32(math.Inf(-1))
				}
			}
		}
		sh.Softmax(0, T, pri, pri)
		// V is read in place (its rows Dv floats apart).
		sh.PV(T, pri, S, v[b*S*Dv+h*dv:], o[b*T*Dv+h*dv:], Dv)
	}
}
