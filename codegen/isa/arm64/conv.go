package arm64

import (
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver"
)

// Direct convolution on NHWC activations (driver.ConvRow): one output row
// is a GEMM whose rows are the row's pixels, read in place as the window
// passes over them, and whose columns are the output channels; the NEON
// tile is the GEMM's (5 pixels × 16 channels), whatever the row's width.

// convRowKernel returns the isa.ConvRow kernel (driver.ConvRow) and the
// microkernels it calls.
func convRowKernel(s isa.ConvRowSpec, name string) (string, []*Func) {
	ms := microSpec{t: neonTile, ldb: s.PW, bias: s.Bias, epi: s.Epi}
	return driver.ConvRow(s, name, ms.driver()), micros(ms, driver.RowCounts(neonTile.MR, s.OW))
}
