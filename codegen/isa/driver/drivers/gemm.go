package drivers

import (
	"unsafe"

	"github.com/modelc/modelc/runtime/numerics"
)

// The GEMM drivers: each walks its shape in tiles of MR rows × W columns
// (a whole panel of the packed weights or a slice of one) and calls the
// microkernel for the tile's rows (the Table hook Micro: one per row
// count the driver calls). Microkernel contract: given an argument block
// a, compute C[r×W] = epi(A[r×k·kh]·B (+ bias)) for r rows of A (row
// stride lda bytes) and a W-column slice of B (row stride fixed in the
// kernel): kh passes of k steps, A advancing skip more bytes after each
// pass; with Bias, bias[0:W] is added; with Resid, resid (rows ldc bytes
// apart) is added, then the activation is applied; C's rows are ldc
// bytes apart.

// Tile is what every GEMM driver's shape holds: the kernel's name (for
// its panics), the tile, and the microkernels' epilogue.
type Tile struct {
	Name              string
	MR, W             int
	Bias, Resid, Gelu bool
	// ActVec: the epilogue's activation reads numerics.ActVec (relu6,
	// the hard and the sigmoid ones), Gelu numerics.ErfVec.
	ActVec bool
}

// LinearShape is an isa.Linear driver: weights [N, K] packed in panels of
// PW columns, rows of x in blocks of MC (whose slice of x stays in L2
// while every panel of the chunk passes it; without the blocking a large
// batch streams all of x from L3 once per panel).
type LinearShape struct {
	Tile
	N, K, PW, MC int
	Micro        func(r int, a *gemmArgs)
}

// Linear computes panels [lo, hi) of y[m×N] = x[m×K]·Wᵀ (+ bias, then the
// epilogue) on wp = gemm.Pack(W).
func Linear(sh LinearShape, m, lo, hi int, y, x, wp, bias, resid []float32) {
	N, K, PW, MR, W := sh.N, sh.K, sh.PW, sh.MR, sh.W
	if m <= 0 || lo >= hi {
		return
	}
	if lo < 0 || len(y) < m*N || len(x) < m*K || len(wp) < hi*K*PW || sh.Bias && len(bias) < hi*PW || sh.Resid && len(resid) < m*N {
		panic(sh.Name + ": buffer too short")
	}
	tile := make([]float32, MR*W)
	var rtile []float32
	if sh.Resid {
		rtile = make([]float32, MR*W)
	}
	var res []float32
	if sh.Resid {
		res = resid
	}
	a := gemmArgs{lda: K * 4}
	a.k, a.kh, a.skip = K, 1, 0
	if sh.Gelu {
		a.consts = unsafe.Pointer(&numerics.ErfVec[0][0])
	}
	if sh.ActVec {
		a.consts = unsafe.Pointer(&numerics.ActVec[0][0])
	}
	MC := sh.MC
	for i0 := 0; i0 < m; i0 += MC {
		i1 := min(i0+MC, m)
		for q := lo; q < hi; q++ {
			for s := 0; s < PW && q*PW+s < N; s += W {
				j0 := q*PW + s
				a.b = unsafe.Pointer(&wp[q*K*PW+s])
				if sh.Bias {
					a.bias = unsafe.Pointer(&bias[j0])
				}
				full := j0+W <= N
				for i := i0; i < i1; i += MR {
					r := min(MR, i1-i)
					a.a = unsafe.Pointer(&x[i*K])
					a.c, a.ldc, a.resid = tileAt(full, r, i, j0, W, N, N, y, res, tile, rtile)
					sh.Micro(r, &a)
					if !full {
						tileBack(r, i, j0, W, N, N, y, tile)
					}
				}
			}
		}
	}
}

// ConvRowShape is an isa.ConvRow driver: one output row (OW pixels × O
// channels) of a KH×KW convolution of C channels, stride SW, on NHWC rows
// of Wp padded pixels; weights packed as a linear layer's [O, K] in NP
// panels of PW. The microkernels walk the window as KH passes of KW·C
// steps, a pixel's taps being KW·C floats starting at (kh·Wp + ow·SW)·C.
type ConvRowShape struct {
	Tile
	C, O, KH, KW, SW, Wp, OW, PW, NP int
	Micro                            func(r int, a *gemmArgs)
}

// ConvRow computes the row: x starts at the window's top-left input, y
// and resid hold the row's OW·O outputs, pixel-major.
func ConvRow(sh ConvRowShape, x, wp, bias, y, resid []float32) {
	C, O, KH, KW, SW, Wp, OW := sh.C, sh.O, sh.KH, sh.KW, sh.SW, sh.Wp, sh.OW
	K, PW, NP, MR, W := KH*KW*C, sh.PW, sh.NP, sh.MR, sh.W
	if len(x) < ((KH-1)*Wp+(OW-1)*SW+KW)*C || len(y) < OW*O || len(wp) < NP*K*PW || sh.Bias && len(bias) < NP*PW || sh.Resid && len(resid) < OW*O {
		panic(sh.Name + ": buffer too short")
	}
	tile := make([]float32, MR*W)
	var rtile []float32
	if sh.Resid {
		rtile = make([]float32, MR*W)
	}
	var res []float32
	if sh.Resid {
		res = resid
	}
	a := gemmArgs{lda: SW * C * 4}
	a.k, a.kh, a.skip = KW*C, KH, (Wp-KW)*C*4
	if sh.Gelu {
		a.consts = unsafe.Pointer(&numerics.ErfVec[0][0])
	}
	if sh.ActVec {
		a.consts = unsafe.Pointer(&numerics.ActVec[0][0])
	}
	for q := 0; q < NP; q++ {
		for s := 0; s < PW && q*PW+s < O; s += W {
			j0 := q*PW + s
			a.b = unsafe.Pointer(&wp[q*K*PW+s])
			if sh.Bias {
				a.bias = unsafe.Pointer(&bias[j0])
			}
			full := j0+W <= O
			for i := 0; i < OW; i += MR {
				r := min(MR, OW-i)
				a.a = unsafe.Pointer(&x[i*SW*C])
				a.c, a.ldc, a.resid = tileAt(full, r, i, j0, W, O, O, y, res, tile, rtile)
				sh.Micro(r, &a)
				if !full {
					tileBack(r, i, j0, W, O, O, y, tile)
				}
			}
		}
	}
}

// BlockShape is an isa.ConvBlock driver: B of depth K packed at run time
// in panels of PW columns.
type BlockShape struct {
	Tile
	K, PW int
	Micro func(r int, a *gemmArgs)
}

// Block computes y[i, 0:ncols] = epi(x[i, 0:K]·B[:, 0:ncols]) for i < m,
// rows of x lda floats apart and of y and resid ldc; columns past ncols
// are read but not stored (the last panel's tile goes through the
// buffer).
func Block(sh BlockShape, m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32) {
	K, PW, MR, W := sh.K, sh.PW, sh.MR, sh.W
	if m <= 0 || ncols <= 0 {
		return
	}
	if len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+ncols || len(wp) < (ncols+PW-1)/PW*K*PW || sh.Resid && len(resid) < (m-1)*ldc+ncols {
		panic(sh.Name + ": buffer too short")
	}
	tile := make([]float32, MR*W)
	var rtile []float32
	if sh.Resid {
		rtile = make([]float32, MR*W)
	}
	var res []float32
	if sh.Resid {
		res = resid
	}
	a := gemmArgs{lda: lda * 4}
	a.k, a.kh, a.skip = K, 1, 0
	if sh.Gelu {
		a.consts = unsafe.Pointer(&numerics.ErfVec[0][0])
	}
	if sh.ActVec {
		a.consts = unsafe.Pointer(&numerics.ActVec[0][0])
	}
	for j0 := 0; j0 < ncols; j0 += W {
		a.b = unsafe.Pointer(&wp[j0/PW*K*PW+j0%PW])
		full := j0+W <= ncols
		for i := 0; i < m; i += MR {
			r := min(MR, m-i)
			a.a = unsafe.Pointer(&x[i*lda])
			a.c, a.ldc, a.resid = tileAt(full, r, i, j0, W, ldc, ncols, y, res, tile, rtile)
			sh.Micro(r, &a)
			if !full {
				tileBack(r, i, j0, W, ldc, ncols, y, tile)
			}
		}
	}
}

// StridedShape is a driver for operands that are not a layer's: y[i,
// 0:P·PW] = x[i, 0:K]·W for i < m, W packed in P panels of PW columns
// (as gemm.Pack lays them out), or with InPlace a row-major K × P·PW
// matrix read in place, rows LDB floats apart; WLen is the floats W
// spans. Every column of every panel is written. Attention uses it for
// QKᵀ (K packed per head at run time) and PV (V read in place).
type StridedShape struct {
	Tile
	K, PW, P, LDB, WLen int
	InPlace             bool
	Micro               func(r int, a *gemmArgs)
}

// Strided computes the product for rows of x and y lda and ldc floats
// apart.
func Strided(sh StridedShape, m int, x []float32, lda int, wp []float32, y []float32, ldc int) {
	K, PW, P, MR, W := sh.K, sh.PW, sh.P, sh.MR, sh.W
	if m <= 0 {
		return
	}
	if len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+P*PW || len(wp) < sh.WLen {
		panic(sh.Name + ": buffer too short")
	}
	a := gemmArgs{lda: lda * 4, ldc: ldc * 4, k: K, kh: 1}
	for q := 0; q < P; q++ {
		for s := 0; s < PW; s += W {
			if sh.InPlace {
				a.b = unsafe.Pointer(&wp[q*PW+s])
			} else {
				a.b = unsafe.Pointer(&wp[q*K*PW+s])
			}
			for i := 0; i < m; i += MR {
				a.a, a.c = unsafe.Pointer(&x[i*lda]), unsafe.Pointer(&y[i*ldc+q*PW+s])
				sh.Micro(min(MR, m-i), &a)
			}
		}
	}
}
