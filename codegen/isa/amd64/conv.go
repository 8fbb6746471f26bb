package amd64

import (
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Direct convolution on NHWC activations, without im2col. One output row
// of one image is a GEMM whose rows are the row's OW pixels and whose
// columns are the O output channels (the packed weights' panels, as for a
// linear layer, with K = KH·KW·C in (kh, kw, c) order). Its left operand
// is read in place from the zero-padded input: pixel ow's taps in window
// row kh are the KW·C floats starting at ((oh·SH + kh)·Wp + ow·SW)·C, so a
// tile of consecutive pixels is a row-strided operand (lda = SW·C floats)
// and the microkernel walks the KH window rows (kh passes of KW·C steps). Bias, residual
// and activation are the GEMM epilogue's: per output channel, which is a
// column here.

// convTile chooses the tile of tier ("avx512" or "avx2") for rows of
// ow pixels and panels of pw columns, by a count of the cycles a k step
// takes on each tile a row needs (multiply-adds, or loads at two per
// cycle when they dominate; a few more loads break ties), plus a fixed
// cost per microkernel call. The tile's width divides the panel.
func convTile(tier string, ow, pw, k int) tile {
	lanes, regs := 16, 32
	if tier == "avx2" {
		lanes, regs = 8, 16
	}
	best, bestCost := tile{}, 0.0
	for nv := 1; nv <= 4; nv++ {
		if pw%(nv*lanes) != 0 {
			continue
		}
		for mr := 1; mr <= 16; mr++ {
			// Accumulators, then B and the broadcast, or the GELU's four
			// temporaries.
			if mr*nv+max(nv+1, 4) > regs {
				break
			}
			cost := 0.0
			for i := 0; i < ow; i += mr {
				r := min(mr, ow-i)
				loads := float64(r + nv)
				cost += float64(k)*(max(float64(r*nv), loads/2)+0.05*loads) + 60
			}
			cost *= float64(pw / (nv * lanes))
			if best.MR == 0 || cost < bestCost {
				best, bestCost = tile{Tier: tier, Lanes: lanes, NV: nv, MR: mr}, cost
			}
		}
	}
	return best
}

// convRowKernel returns the isa.ConvRow kernel for tile t
// (driver.ConvRow) and the microkernels it calls.
func convRowKernel(s isa.ConvRowSpec, name string, t tile) (string, []*Func) {
	ms := microSpec{t: t, ldb: s.PW, bias: s.Bias, epi: s.Epi}
	return driver.ConvRow(s, name, ms.driver()), micros(ms, driver.RowCounts(t.MR, s.OW))
}
