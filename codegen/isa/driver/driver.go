// Package driver writes the Go drivers of the vector targets' kernels: the
// Go function with a family's signature (isa.Family) that walks the
// shape — panels, row tiles, the tails, the window — and calls a
// target's assembly microkernels through their argument blocks. The
// drivers are the same for every target: a target supplies its tile and
// its microkernels' names (Micro), emits the microkernels for the row
// counts a driver calls (RowCounts), and declares the argument blocks
// (GemmArgs, EWArgs, LNArgs) that its assembly reads at their fixed
// offsets.
//
// Only the microkernels are assembly: one call computes at most a tile of
// rows over the whole K (≈ 10 µs at K = 4096), so it never holds the Go
// scheduler or the GC off for long.
package driver

import (
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// Micro is a target's GEMM microkernel family for one driver.
//
// Microkernel contract: given an argument block a (GemmArgs), compute
// C[r×W] = epi(A[r×k·kh]·B (+ bias)) for r rows of A (row stride lda
// bytes) and a W-column slice of B (row stride fixed in the kernel):
// kh passes of k steps, A advancing skip more bytes after each pass;
// with Bias, bias[0:W] is added; with Epi.Resid, resid (rows ldc bytes
// apart) is added, then Epi.Act is applied; C's rows are ldc bytes apart.
type Micro struct {
	Tier  string             // for doc comments
	MR, W int                // the tile: rows and columns
	Name  func(r int) string // the microkernel for r rows
	Bias  bool
	Epi   isa.Epilogue
}

// GemmArgs declares the parameter block of every GEMM microkernel.
const GemmArgs = `// gemmArgs is the parameter block of the GEMM microkernels (offsets are
// fixed in the assembly: a 0, b 8, c 16, bias 24, lda 32, ldc 40, resid 48,
// consts 56, k 64, kh 72, skip 80).
type gemmArgs struct {
	a, b, c, bias unsafe.Pointer // rows of x, a panel slice of B, the tile of y, bias
	lda, ldc      int            // row strides of x and of y and resid, in bytes
	resid         unsafe.Pointer // added after the bias
	consts        unsafe.Pointer // numerics.ErfVec, for gelu
	k, kh, skip   int            // k steps per pass, kh passes, skip bytes of x between passes
}
`

// The offsets of GemmArgs' fields, for the assembly.
const (
	OffA, OffB, OffC, OffBias, OffLda, OffLdc, OffResid, OffConsts, OffK, OffKH, OffSkip = 0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80
)

// RowCounts returns the row counts a driver calls microkernels for: for
// m rows known when the package is generated, a full tile and the tail;
// for m = 0 (known only at run time), every count 1…mr.
func RowCounts(mr, m int) []int {
	var rs []int
	switch {
	case m == 0:
		for r := 1; r <= mr; r++ {
			rs = append(rs, r)
		}
	case m < mr:
		rs = []int{m}
	default:
		rs = []int{mr}
		if m%mr != 0 {
			rs = append(rs, m%mr)
		}
	}
	return rs
}

// EpiDoc describes an epilogue for a doc comment.
func EpiDoc(e isa.Epilogue) string {
	s := ""
	if e.Resid {
		s += ", + resid"
	}
	if e.Act != "" {
		s += ", then " + e.Act
	}
	return s
}

// mustValidate panics if p is not a variant the drivers can walk: the
// targets build p from a spec, so an invalid one is a bug.
func mustValidate(p gemm.Params) {
	if err := p.Validate(); err != nil {
		panic("BUG: driver: " + err.Error())
	}
}

type writer struct{ strings.Builder }

func (w *writer) f(format string, args ...any) { fmt.Fprintf(&w.Builder, format+"\n", args...) }

// Linear returns the isa.Linear kernel name(m, lo, hi int, y, x, wp,
// bias, resid []float32) on mk's microkernels (whose tile is a whole
// panel or a slice of one), with the rows blocked so that a block of x
// stays in L2 while the panels pass it; it calls the microkernels of
// RowCounts(mk.MR, 0).
func Linear(s isa.LinearSpec, name string, mk Micro) string {
	p := gemm.Params{N: s.N, K: s.K, MR: 1, NR: 8, PW: s.PW, Bias: s.Bias}
	mustValidate(p)
	if s.PW%mk.W != 0 {
		panic(fmt.Sprintf("BUG: driver: panel width %d is not a multiple of the tile's %d columns", s.PW, mk.W))
	}
	var w writer
	bias := ""
	if p.Bias {
		bias = " + bias"
	}
	w.f("// %s computes panels [lo, hi) (%d columns each) of y[m×%d] = x[m×%d]·Wᵀ%s%s", name, s.PW, p.N, p.K, bias, EpiDoc(s.Epi))
	w.f("// with %s microkernels (%d×%d tiles), on wp = gemm.Pack(W).", mk.Tier, mk.MR, mk.W)
	w.f("func %s(m, lo, hi int, y, x, wp, bias, resid []float32) {", name)
	w.f("const N, K, PW, MR, W = %d, %d, %d, %d, %d", p.N, p.K, s.PW, mk.MR, mk.W)
	w.f("if m <= 0 || lo >= hi {")
	w.f("return")
	w.f("}")
	check := "lo < 0 || len(y) < m*N || len(x) < m*K || len(wp) < hi*K*PW"
	if p.Bias {
		check += " || len(bias) < hi*PW"
	}
	if s.Epi.Resid {
		check += " || len(resid) < m*N"
	}
	w.preamble(name, check, "K", "K, 1, 0", mk)
	// Rows in blocks of MC, whose slice of x (MC·K floats) stays in L2
	// while every panel of the chunk passes it; without the blocking a
	// large batch streams all of x from L3 once per panel.
	mc := gemm.RowBlock(p.K, mk.MR)
	w.f("const MC = %d // rows of x per block: %d KiB", mc, mc*p.K*4>>10)
	w.f("for i0 := 0; i0 < m; i0 += MC {")
	w.f("i1 := min(i0+MC, m)")
	w.f("for q := lo; q < hi; q++ {")
	w.panelSlice(p.Bias, "N")
	w.f("for i := i0; i < i1; i += MR {")
	w.f("r := min(MR, i1-i)")
	w.rowTile(mk, RowCounts(mk.MR, 0), "K", "N", "N")
	w.f("}")
	w.f("}")
	w.f("}")
	w.f("}")
	w.f("}")
	return w.String()
}

// ConvRow returns the isa.ConvRow kernel name(x, wp, bias, y, resid
// []float32) on mk's microkernels, which walk the window as KH passes of
// KW·C steps; it calls the microkernels of RowCounts(mk.MR, s.OW).
func ConvRow(s isa.ConvRowSpec, name string, mk Micro) string {
	mustValidate(gemm.Params{N: s.O, K: s.KW * s.C, MR: 1, NR: 8, PW: s.PW})
	np := (s.O + s.PW - 1) / s.PW
	var w writer
	w.f("// %s computes one output row (%d pixels × %d channels) of a %d×%d convolution", name, s.OW, s.O, s.KH, s.KW)
	w.f("// of %d channels, stride %d, on NHWC rows of %d padded pixels, with %s microkernels (%d×%d tiles).", s.C, s.SW, s.Wp, mk.Tier, mk.MR, mk.W)
	w.f("func %s(x, wp, bias, y, resid []float32) {", name)
	w.f("const C, O, KH, KW, SW, Wp, OW = %d, %d, %d, %d, %d, %d, %d", s.C, s.O, s.KH, s.KW, s.SW, s.Wp, s.OW)
	w.f("const K, PW, NP, MR, W = KH * KW * C, %d, %d, %d, %d", s.PW, np, mk.MR, mk.W)
	check := "len(x) < ((KH-1)*Wp+(OW-1)*SW+KW)*C || len(y) < OW*O || len(wp) < NP*K*PW"
	if s.Bias {
		check += " || len(bias) < NP*PW"
	}
	if s.Epi.Resid {
		check += " || len(resid) < OW*O"
	}
	w.preamble(name, check, "SW*C", "KW*C, KH, (Wp-KW)*C*4", mk)
	w.f("for q := 0; q < NP; q++ {")
	w.panelSlice(s.Bias, "O")
	w.f("for i := 0; i < OW; i += MR {")
	w.f("r := min(MR, OW-i)")
	w.rowTile(mk, RowCounts(mk.MR, s.OW), "SW*C", "O", "O")
	w.f("}")
	w.f("}")
	w.f("}")
	w.f("}")
	return w.String()
}

// Block returns the isa.ConvBlock kernel
//
//	func name(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32)
//
// on mk's microkernels: y[i, 0:ncols] = epi(x[i, 0:k]·B[:, 0:ncols]) for
// i < m, B in ⌈ncols/pw⌉ panels of pw columns (k·pw floats each; columns
// past ncols are read but not stored: the last panel's tile is stored
// through a buffer) packed at run time. It calls the microkernels of
// RowCounts(mk.MR, 0).
func Block(k, pw int, name string, mk Micro) string {
	mustValidate(gemm.Params{N: pw, K: k, MR: 1, NR: 8, PW: pw})
	var w writer
	w.f("// %s computes y[i, 0:ncols] = x[i, 0:%d]·B%s for i < m with %s microkernels (%d×%d tiles),", name, k, EpiDoc(mk.Epi), mk.Tier, mk.MR, mk.W)
	w.f("// B packed at run time in panels of %d columns.", pw)
	w.f("func %s(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32) {", name)
	w.f("const K, PW, MR, W = %d, %d, %d, %d", k, pw, mk.MR, mk.W)
	w.f("if m <= 0 || ncols <= 0 {")
	w.f("return")
	w.f("}")
	check := "len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+ncols || len(wp) < (ncols+PW-1)/PW*K*PW"
	if mk.Epi.Resid {
		check += " || len(resid) < (m-1)*ldc+ncols"
	}
	w.preamble(name, check, "lda", "K, 1, 0", mk)
	w.f("for j0 := 0; j0 < ncols; j0 += W {")
	w.f("a.b = unsafe.Pointer(&wp[j0/PW*K*PW+j0%%PW])")
	w.f("full := j0+W <= ncols")
	w.f("for i := 0; i < m; i += MR {")
	w.f("r := min(MR, m-i)")
	w.rowTile(mk, RowCounts(mk.MR, 0), "lda", "ldc", "ncols")
	w.f("}")
	w.f("}")
	w.f("}")
	return w.String()
}

// Strided returns a driver for operands that are not a layer's:
// func name(m int, x []float32, lda int, wp []float32, y []float32, ldc int)
// computes y[i, 0:panels·pw] = x[i, 0:k]·W for i < m (the m given, or any
// when it is 0), rows of x and y at strides lda and ldc floats. W is
// packed into panels of pw columns (as gemm.Pack lays them out), or,
// with ldb > 0, a row-major k × (panels·pw) matrix read in place with
// rows ldb floats apart. Every column of every panel is written, so y's
// rows need room for panels·pw floats. Attention uses it for QKᵀ (K
// packed per head at run time) and PV (V read in place). It calls the
// microkernels of RowCounts(mk.MR, m).
func Strided(m, k, pw, panels, ldb int, name string, mk Micro) string {
	mustValidate(gemm.Params{N: panels * pw, K: k, MR: 1, NR: 8, PW: pw})
	var w writer
	w.f("// %s computes y[i, 0:%d] = x[i, 0:%d]·W for i < m with %s microkernels (%d×%d tiles);", name, panels*pw, k, mk.Tier, mk.MR, mk.W)
	w.f("// rows of x and y are lda and ldc floats apart, W is in %d panels of %d columns.", panels, pw)
	w.f("func %s(m int, x []float32, lda int, wp []float32, y []float32, ldc int) {", name)
	w.f("const K, PW, P, MR, W = %d, %d, %d, %d, %d", k, pw, panels, mk.MR, mk.W)
	w.f("if m <= 0 {")
	w.f("return")
	w.f("}")
	wlen, panel := "P*K*PW", "q*K*PW+s"
	if ldb > 0 {
		wlen, panel = fmt.Sprintf("(K-1)*%d+P*PW", ldb), "q*PW+s"
	}
	w.f("if len(x) < (m-1)*lda+K || len(y) < (m-1)*ldc+P*PW || len(wp) < %s {", wlen)
	w.f("panic(%q)", name+": buffer too short")
	w.f("}")
	w.f("a := gemmArgs{lda: lda * 4, ldc: ldc * 4, k: K, kh: 1}")
	w.f("for q := 0; q < P; q++ {")
	w.f("for s := 0; s < PW; s += W {")
	w.f("a.b = unsafe.Pointer(&wp[%s])", panel)
	w.f("for i := 0; i < m; i += MR {")
	w.f("a.a, a.c = unsafe.Pointer(&x[i*lda]), unsafe.Pointer(&y[i*ldc+q*PW+s])")
	w.callMicro(mk, "min(MR, m-i)", RowCounts(mk.MR, m))
	w.f("}")
	w.f("}")
	w.f("}")
	w.f("}")
	return w.String()
}

// callMicro emits the call of the microkernel for r rows (a Go
// expression whose value is one of rows) on the argument block a.
func (w *writer) callMicro(mk Micro, r string, rows []int) {
	if len(rows) == 1 {
		w.f("%s(&a)", mk.Name(rows[0]))
		return
	}
	w.f("switch %s {", r)
	for _, i := range rows {
		w.f("case %d:", i)
		w.f("%s(&a)", mk.Name(i))
	}
	w.f("}")
}

// rowTile emits the body of a driver's row loop: the call of the
// microkernel for r = min(MR, rows left) rows at row i and column j0 (the
// variables full, tile, rtile and a are the driver's). A tile that
// reaches past the last column is computed into the tile buffer, its
// residual read from a copy of the valid columns, and its valid columns
// copied out: the microkernel applies the whole epilogue either way.
// lda and ldy are the row strides of x and of y and resid; end is the
// last column of y.
func (w *writer) rowTile(mk Micro, rows []int, lda, ldy, end string) {
	w.f("a.a = unsafe.Pointer(&x[i*%s])", lda)
	w.f("if full {")
	w.f("a.c, a.ldc = unsafe.Pointer(&y[i*%[1]s+j0]), %[1]s*4", ldy)
	if mk.Epi.Resid {
		w.f("a.resid = unsafe.Pointer(&resid[i*%s+j0])", ldy)
	}
	w.f("} else {")
	w.f("a.c, a.ldc = unsafe.Pointer(&tile[0]), W*4")
	if mk.Epi.Resid {
		w.f("for rr := range r {")
		w.f("copy(rtile[rr*W:(rr+1)*W], resid[(i+rr)*%[1]s+j0:(i+rr)*%[1]s+%[2]s])", ldy, end)
		w.f("}")
		w.f("a.resid = unsafe.Pointer(&rtile[0])")
	}
	w.f("}")
	w.callMicro(mk, "r", rows)
	w.f("if !full {")
	w.f("for rr := range r {")
	w.f("copy(y[(i+rr)*%[1]s+j0:(i+rr)*%[1]s+%[2]s], tile[rr*W:])", ldy, end)
	w.f("}")
	w.f("}")
}

// panelSlice opens a driver's loop over the W-column slices of panel q of
// n columns: j0, the argument block's weights and bias, and whether the
// slice is whole (full).
func (w *writer) panelSlice(bias bool, n string) {
	w.f("for s := 0; s < PW && q*PW+s < %s; s += W {", n)
	w.f("j0 := q*PW + s")
	w.f("a.b = unsafe.Pointer(&wp[q*K*PW+s])")
	if bias {
		w.f("a.bias = unsafe.Pointer(&bias[j0])")
	}
	w.f("full := j0+W <= %s", n)
}

// preamble emits what every tiled driver does before its loops: the
// bounds check (check, a Go condition that is true when a buffer is too
// short), the tail tile buffers, and the argument block with x's row
// stride lda, the pass shape kpass ("k, kh, skip") and the GELU
// constants when the epilogue needs them.
func (w *writer) preamble(name, check, lda, kpass string, mk Micro) {
	w.f("if %s {", check)
	w.f("panic(%q)", name+": buffer too short")
	w.f("}")
	w.f("var tile [MR * W]float32")
	if mk.Epi.Resid {
		w.f("var rtile [MR * W]float32")
	}
	w.f("a := gemmArgs{lda: %s * 4}", lda)
	w.f("a.k, a.kh, a.skip = %s", kpass)
	if mk.Epi.Act == "gelu" {
		w.f("a.consts = unsafe.Pointer(&numerics.ErfVec[0][0])")
	}
}
