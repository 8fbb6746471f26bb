package kernels

// The call sites of the targets' kernels, one type per kernel family of
// codegen/isa (whose doc states each family's contract). In a template
// the field's Run method calls the kernel and reports that it did; codegen
// turns each call into the tier switch over the targets' kernels (see
// tmpl.Dispatch for the forms). In this package's tests F is a stand-in
// for a target's kernel, written from the contract, or nil for none.

// ElementwiseKernel is a call site of the isa.Elementwise family.
type ElementwiseKernel struct {
	F func(dst, a, b []float32, s, t float32) int
}

// Run applies the op to dst's leading whole vectors and returns how many
// elements it did: 0 without a kernel.
func (k ElementwiseKernel) Run(dst, a, b []float32, s, t float32) int {
	if k.F == nil {
		return 0
	}
	return k.F(dst, a, b, s, t)
}

// LayerNormKernel is a call site of the isa.LayerNorm family.
type LayerNormKernel struct {
	F func(lo, hi int, dst, x, g, b []float32, eps float32)
}

// Run normalises rows [lo, hi) and reports whether a kernel did.
func (k LayerNormKernel) Run(lo, hi int, dst, x, g, b []float32, eps float32) bool {
	if k.F == nil {
		return false
	}
	k.F(lo, hi, dst, x, g, b, eps)
	return true
}

// SoftmaxKernel is a call site of the isa.Softmax family.
type SoftmaxKernel struct {
	F func(lo, hi int, dst, x []float32)
}

// Run computes rows [lo, hi) and reports whether a kernel did.
func (k SoftmaxKernel) Run(lo, hi int, dst, x []float32) bool {
	if k.F == nil {
		return false
	}
	k.F(lo, hi, dst, x)
	return true
}

// AttentionKernel is a call site of the isa.Attention family.
type AttentionKernel struct {
	F func(lo, hi int, o, q, k, v, scratch []float32)
}

// Run computes items [lo, hi) and reports whether a kernel did.
func (k AttentionKernel) Run(lo, hi int, o, q, kk, v, scratch []float32) bool {
	if k.F == nil {
		return false
	}
	k.F(lo, hi, o, q, kk, v, scratch)
	return true
}

// LinearKernel is a call site of the isa.Linear family. NoEpi marks a
// kernel that applies no epilogue (it lacks the layer's activation): it
// gets no residual, and the template's Go epilogue follows it.
type LinearKernel struct {
	F     func(m, lo, hi int, y, x, wp, bias, resid []float32)
	NoEpi bool
}

// Run computes panels [lo, hi) and reports whether a kernel did.
func (k LinearKernel) Run(m, lo, hi int, y, x, wp, bias, resid []float32) bool {
	if k.F == nil {
		return false
	}
	if k.NoEpi {
		resid = nil
	}
	k.F(m, lo, hi, y, x, wp, bias, resid)
	return true
}

// GoEpi reports whether the Go epilogue runs after Run: without a
// kernel, or after one that applies none.
func (k LinearKernel) GoEpi() bool { return k.F == nil || k.NoEpi }

// ConvBlockKernel is a call site of the isa.ConvBlock family (NoEpi as
// for LinearKernel).
type ConvBlockKernel struct {
	F     func(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32)
	NoEpi bool
}

// Run computes the block and reports whether a kernel did.
func (k ConvBlockKernel) Run(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32) bool {
	if k.F == nil {
		return false
	}
	if k.NoEpi {
		resid = nil
	}
	k.F(m, ncols, x, lda, wp, y, ldc, resid)
	return true
}

// GoEpi reports whether the Go epilogue runs after Run.
func (k ConvBlockKernel) GoEpi() bool { return k.F == nil || k.NoEpi }

// ConvRowKernel is a call site of the isa.ConvRow family (NoEpi as for
// LinearKernel).
type ConvRowKernel struct {
	F     func(x, wp, bias, y, resid []float32)
	NoEpi bool
}

// Run computes the row and reports whether a kernel did.
func (k ConvRowKernel) Run(x, wp, bias, y, resid []float32) bool {
	if k.F == nil {
		return false
	}
	if k.NoEpi {
		resid = nil
	}
	k.F(x, wp, bias, y, resid)
	return true
}

// GoEpi reports whether the Go epilogue runs after Run.
func (k ConvRowKernel) GoEpi() bool { return k.F == nil || k.NoEpi }

// DepthwiseKernel is a call site of the isa.Depthwise family (NoEpi as
// for LinearKernel).
type DepthwiseKernel struct {
	F     func(x, w, bias, y, resid []float32)
	NoEpi bool
}

// Run computes the row and reports whether a kernel did.
func (k DepthwiseKernel) Run(x, w, bias, y, resid []float32) bool {
	if k.F == nil {
		return false
	}
	if k.NoEpi {
		resid = nil
	}
	k.F(x, w, bias, y, resid)
	return true
}

// GoEpi reports whether the Go epilogue runs after Run.
func (k DepthwiseKernel) GoEpi() bool { return k.F == nil || k.NoEpi }

// QGemmKernel is a call site of the isa.QGemm family.
type QGemmKernel struct {
	F func(m int, a []uint8, lda int, b []int8, c []int32, ldc int)
}

// Run computes the int32 sums of m rows and reports whether a kernel
// did.
func (k QGemmKernel) Run(m int, a []uint8, lda int, b []int8, c []int32, ldc int) bool {
	if k.F == nil {
		return false
	}
	k.F(m, a, lda, b, c, ldc)
	return true
}
