// Package drivers holds the Go drivers of the vector targets' kernels as
// templates: ordinary Go functions with a kernel family's signature
// (codegen/isa) that walk the family's shape — panels, row tiles, the
// tails, the window — and call a target's microkernels through their
// argument blocks. They compile and are tested here as Go, on Go
// stand-ins for the microkernels written from their contract; package
// driver specialises them (codegen/tmpl) into each target's
// kernels_NAME.go, the microkernels named by a Table or Call hook.
//
// The argument blocks (gemmArgs, ewArgs, lnArgs) are declared here once:
// the generated files copy their declarations, and the targets' assembly
// reads their fields at the offsets driver exports (a test checks them
// against unsafe.Offsetof).
//
// A template's shape parameter is sh (the families' signatures use s).
package drivers

import (
	"embed"
	"unsafe"
)

// Source is this package's Go source, which package driver parses for
// the templates.
//
//go:embed *.go
var Source embed.FS

// gemmArgs is the parameter block of the GEMM microkernels (offsets are
// fixed in the assembly: a 0, b 8, c 16, bias 24, lda 32, ldc 40, resid 48,
// consts 56, k 64, kh 72, skip 80).
type gemmArgs struct {
	a, b, c, bias unsafe.Pointer // rows of x, a panel slice of B, the tile of y, bias
	lda, ldc      int            // row strides of x and of y and resid, in bytes
	resid         unsafe.Pointer // added after the bias
	consts        unsafe.Pointer // numerics.ErfVec for gelu, ActVec for relu6, the hard and the sigmoid activations
	k, kh, skip   int            // k steps per pass, kh passes, skip bytes of x between passes
}

// tileAt returns where the microkernel computes the tile of r rows at
// row i and column j0 of y (rows ldy floats apart, ending at column
// end): c and its row stride in bytes, and its residual (nil when resid
// is). A whole tile (full) is y's own rows; a partial one the buffer
// tile, with the residual's valid columns copied into rtile, which
// tileBack copies out after the microkernel (which applies the whole
// epilogue either way). It returns the pointers rather than storing them
// through a *gemmArgs, so the buffers stay on the driver's stack.
func tileAt(full bool, r, i, j0, W, ldy, end int, y, resid, tile, rtile []float32) (c unsafe.Pointer, ldc int, rp unsafe.Pointer) {
	if full {
		if resid != nil {
			rp = unsafe.Pointer(&resid[i*ldy+j0])
		}
		return unsafe.Pointer(&y[i*ldy+j0]), ldy * 4, rp
	}
	if resid != nil {
		for rr := range r {
			copy(rtile[rr*W:(rr+1)*W], resid[(i+rr)*ldy+j0:(i+rr)*ldy+end])
		}
		rp = unsafe.Pointer(&rtile[0])
	}
	return unsafe.Pointer(&tile[0]), W * 4, rp
}

// tileBack copies the valid columns of a tile computed in the buffer
// (tileAt) to y.
func tileBack(r, i, j0, W, ldy, end int, y, tile []float32) {
	for rr := range r {
		copy(y[(i+rr)*ldy+j0:(i+rr)*ldy+end], tile[rr*W:])
	}
}

// ewArgs is the parameter block of the element-wise kernels (offsets
// fixed in the assembly: dst 0, a 8, b 16, vectors 24, s 32, t 36).
type ewArgs struct {
	dst, a, b unsafe.Pointer
	vectors   int
	s, t      float32 // affine: dst = a·s + t
}

// lnArgs is the parameter block of the layernorm row kernels (offsets
// fixed in the assembly: src 0, dst 8, gamma 16, beta 24, rows 32, eps 40,
// 1/I 44, one 48).
type lnArgs struct {
	src, dst, gamma, beta unsafe.Pointer
	rows                  int
	eps, invI, one        float32
}

// The offsets of gemmArgs' fields, for the assembly (checked against
// unsafe.Offsetof by the tests).
const (
	OffA, OffB, OffC, OffBias, OffLda, OffLdc, OffResid, OffConsts, OffK, OffKH, OffSkip = 0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80
)
