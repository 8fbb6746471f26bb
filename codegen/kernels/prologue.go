package kernels

import "github.com/modelc/modelc/ir"

// PreShape is a band-copy convolution's prologue (ir.Prologue: a
// BatchNorm bn-fold had to keep, and the activation after it, moved into
// the convolution by bn-prologue) as ConvNHWC and Depthwise apply it:
// each element of the image's rows in the band becomes
// PreAct(float32(x·scale[c]) + shift[c]), the rounding ir.Prologue's
// ApplyPre gives, and the padding stays zero.
//
// The scale and shift arrive tiled over a band row (PackPre), so the
// targets' element-wise kernels apply them as a multiply and an add of
// same-length vectors in cache, as BatchNormNHWC does over memory; a
// ReLU runs on the targets' relu kernel, any other activation in Go.
type PreShape struct {
	Pre       bool // a prologue
	PreActive bool // with an activation
	PreAct    func(float32) float32
	// PreMul, PreAdd and PreRelu are the targets' element-wise kernels;
	// PreRelu is set only when PreAct is a ReLU.
	PreMul, PreAdd, PreRelu ElementwiseKernel
}

// PreOf returns conv2d node nd's prologue shape, its kernels unset.
func PreOf(nd *ir.Node) PreShape {
	cv := nd.Op.(*ir.Conv2D)
	return PreShape{Pre: cv.Pre, PreActive: cv.Pre && cv.PreAct != ""}
}

// PackPre tiles a prologue's per-channel scale or shift (C floats) over
// a band row of W pixels.
func PackPre(W int) func([]float32) []float32 {
	return func(v []float32) []float32 {
		t := make([]float32, 0, W*len(v))
		for range W {
			t = append(t, v...)
		}
		return t
	}
}
