// Package driver writes the Go drivers of the vector targets' kernels: the
// Go function with a family's signature (isa.Family) that walks the
// shape — panels, row tiles, the tails, the window — and calls a
// target's assembly microkernels through their argument blocks. The
// drivers are templates (codegen/isa/driver/drivers: Go, compiled and
// tested there on Go stand-ins for the microkernels) specialised here to
// a spec and a target's tile (codegen/tmpl), the same for every target: a
// target supplies its tile and its microkernels' names (Micro), emits the
// microkernels for the row counts a driver calls (RowCounts), and puts
// the argument blocks (GemmArgs, EWArgs, LNArgs) in its Go file, whose
// fields its assembly reads at their fixed offsets.
//
// Only the microkernels are assembly: one call computes at most a tile of
// rows over the whole K (≈ 10 µs at K = 4096), so it never holds the Go
// scheduler or the GC off for long.
package driver

import (
	"fmt"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/isa/driver/drivers"
	"github.com/modelc/modelc/codegen/tmpl"
)

// templates are the drivers' templates, parsed once.
var templates = tmpl.MustLoad(drivers.Source)

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

// The argument blocks' declarations (with the helpers of the GEMM
// drivers), for the targets' Go files.
var (
	GemmArgs = templates.Source("gemmArgs") + "\n" + templates.Source("tileAt") + "\n" + templates.Source("tileBack")
	EWArgs   = templates.Source("ewArgs")
	LNArgs   = templates.Source("lnArgs")
	// QGemmArgs is the integer GEMM microkernels' block.
	QGemmArgs = templates.Source("qgemmArgs")
)

// blocks are the declarations a driver may use, which the targets' files
// hold: anything else a template uses is a bug.
var blocks = map[string]bool{"gemmArgs": true, "tileAt": true, "tileBack": true, "ewArgs": true, "lnArgs": true, "dwArgs": true, "qgemmArgs": true}

// The offsets of GemmArgs' fields, for the assembly.
const (
	OffA, OffB, OffC, OffBias, OffLda, OffLdc = drivers.OffA, drivers.OffB, drivers.OffC, drivers.OffBias, drivers.OffLda, drivers.OffLdc
	OffResid, OffConsts, OffK, OffKH, OffSkip = drivers.OffResid, drivers.OffConsts, drivers.OffK, drivers.OffKH, drivers.OffSkip
)

// function instantiates template tmplName as the function name with the
// doc comment doc ("// …" lines).
func function(doc, name, tmplName string, b tmpl.Binding) string {
	f, err := templates.Instantiate(tmplName, b)
	if err != nil {
		panic(err.Error())
	}
	for h := range f.Helpers {
		if !blocks[h] {
			panic(fmt.Sprintf("BUG: driver: template %s uses %s, which the targets' files do not declare", tmplName, h))
		}
	}
	return fmt.Sprintf("%sfunc %s%s {\n%s}\n", doc, name, f.Signature(), f.Body)
}

// table is the Table hook calling mk's microkernel for each row count of
// rows.
func table(mk Micro, rows []int) tmpl.Table {
	t := tmpl.Table{Funcs: map[int]string{}}
	for _, r := range rows {
		t.Funcs[r] = mk.Name(r)
	}
	return t
}

// tile is what the GEMM templates know of mk.
func tile(name string, mk Micro) drivers.Tile {
	actVec := mk.Epi.Act != "" && mk.Epi.Act != "relu" && mk.Epi.Act != "gelu" && mk.Epi.Act != "gelu_tanh"
	return drivers.Tile{Name: name, MR: mk.MR, W: mk.W, Bias: mk.Bias, Resid: mk.Epi.Resid, Gelu: mk.Epi.Act == "gelu", ActVec: actVec}
}

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

// Linear returns the isa.Linear kernel name(m, lo, hi int, y, x, wp,
// bias, resid []float32) on mk's microkernels (whose tile is a whole
// panel or a slice of one), with the rows blocked so that a block of x
// stays in L2 while the panels pass it (drivers.Linear); it calls the
// microkernels of RowCounts(mk.MR, 0).
func Linear(s isa.LinearSpec, name string, mk Micro) string {
	p := gemm.Params{N: s.N, K: s.K, MR: 1, NR: 8, PW: s.PW, Bias: s.Bias}
	mustValidate(p)
	if s.PW%mk.W != 0 {
		panic(fmt.Sprintf("BUG: driver: panel width %d is not a multiple of the tile's %d columns", s.PW, mk.W))
	}
	bias := ""
	if p.Bias {
		bias = " + bias"
	}
	doc := fmt.Sprintf("// %s computes panels [lo, hi) (%d columns each) of y[m×%d] = x[m×%d]·Wᵀ%s%s\n// with %s microkernels (%d×%d tiles), on wp = gemm.Pack(W).\n",
		name, s.PW, p.N, p.K, bias, EpiDoc(s.Epi), mk.Tier, mk.MR, mk.W)
	sh := drivers.LinearShape{Tile: tile(name, mk), N: p.N, K: p.K, PW: s.PW, MC: gemm.RowBlock(p.K, mk.MR)}
	return function(doc, name, "Linear", tmpl.Binding{Shape: sh, Hooks: map[string]tmpl.Hook{"Micro": table(mk, RowCounts(mk.MR, 0))}})
}

// ConvRow returns the isa.ConvRow kernel name(x, wp, bias, y, resid
// []float32) on mk's microkernels, which walk the window as KH passes of
// KW·C steps (drivers.ConvRow); it calls the microkernels of
// RowCounts(mk.MR, s.OW).
func ConvRow(s isa.ConvRowSpec, name string, mk Micro) string {
	mustValidate(gemm.Params{N: s.O, K: s.KW * s.C, MR: 1, NR: 8, PW: s.PW})
	doc := fmt.Sprintf("// %s computes one output row (%d pixels × %d channels) of a %d×%d convolution\n// of %d channels, stride %d, on NHWC rows of %d padded pixels, with %s microkernels (%d×%d tiles).\n",
		name, s.OW, s.O, s.KH, s.KW, s.C, s.SW, s.Wp, mk.Tier, mk.MR, mk.W)
	sh := drivers.ConvRowShape{Tile: tile(name, mk), C: s.C, O: s.O, KH: s.KH, KW: s.KW, SW: s.SW, Wp: s.Wp, OW: s.OW, PW: s.PW, NP: (s.O + s.PW - 1) / s.PW}
	return function(doc, name, "ConvRow", tmpl.Binding{Shape: sh, Hooks: map[string]tmpl.Hook{"Micro": table(mk, RowCounts(mk.MR, s.OW))}})
}

// Block returns the isa.ConvBlock kernel
//
//	func name(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32)
//
// on mk's microkernels: y[i, 0:ncols] = epi(x[i, 0:k]·B[:, 0:ncols]) for
// i < m, B in ⌈ncols/pw⌉ panels of pw columns packed at run time
// (drivers.Block). It calls the microkernels of RowCounts(mk.MR, 0).
func Block(k, pw int, name string, mk Micro) string {
	mustValidate(gemm.Params{N: pw, K: k, MR: 1, NR: 8, PW: pw})
	doc := fmt.Sprintf("// %s computes y[i, 0:ncols] = x[i, 0:%d]·B%s for i < m with %s microkernels (%d×%d tiles),\n// B packed at run time in panels of %d columns.\n",
		name, k, EpiDoc(mk.Epi), mk.Tier, mk.MR, mk.W, pw)
	sh := drivers.BlockShape{Tile: tile(name, mk), K: k, PW: pw}
	return function(doc, name, "Block", tmpl.Binding{Shape: sh, Hooks: map[string]tmpl.Hook{"Micro": table(mk, RowCounts(mk.MR, 0))}})
}

// Strided returns a driver for operands that are not a layer's:
// func name(m int, x []float32, lda int, wp []float32, y []float32, ldc int)
// computes y[i, 0:panels·pw] = x[i, 0:k]·W for i < m (the m given, or any
// when it is 0), rows of x and y at strides lda and ldc floats. W is
// packed into panels of pw columns (as gemm.Pack lays them out), or,
// with ldb > 0, a row-major k × (panels·pw) matrix read in place with
// rows ldb floats apart (drivers.Strided). It calls the microkernels of
// RowCounts(mk.MR, m).
func Strided(m, k, pw, panels, ldb int, name string, mk Micro) string {
	mustValidate(gemm.Params{N: panels * pw, K: k, MR: 1, NR: 8, PW: pw})
	doc := fmt.Sprintf("// %s computes y[i, 0:%d] = x[i, 0:%d]·W for i < m with %s microkernels (%d×%d tiles);\n// rows of x and y are lda and ldc floats apart, W is in %d panels of %d columns.\n",
		name, panels*pw, k, mk.Tier, mk.MR, mk.W, panels, pw)
	sh := drivers.StridedShape{Tile: tile(name, mk), K: k, PW: pw, P: panels, LDB: ldb, WLen: panels * k * pw, InPlace: ldb > 0}
	if ldb > 0 {
		sh.WLen = (k-1)*ldb + panels*pw
	}
	return function(doc, name, "Strided", tmpl.Binding{Shape: sh, Hooks: map[string]tmpl.Hook{"Micro": table(mk, RowCounts(mk.MR, m))}})
}

// QGemm returns the isa.QGemm kernel name(m int, a []uint8, lda int,
// b []int8, c []int32, ldc int) on mk's integer microkernels (tile MR ×
// W, W dividing s.PW; drivers.QGemm); it calls the microkernels of
// RowCounts(mk.MR, 0).
func QGemm(s isa.QGemmSpec, name string, mk Micro) string {
	if s.PW%mk.W != 0 || s.N < 1 || s.K < 1 {
		panic(fmt.Sprintf("BUG: driver: qgemm %+v does not suit a tile of %d columns", s, mk.W))
	}
	doc := fmt.Sprintf("// %s computes c[m×%d] (int32) = a[m×%d] (u8)·Wᵀ (s8) with %s microkernels (%d×%d tiles),\n// on b = quant.PackS8(W) in panels of %d columns.\n",
		name, s.N, s.K, mk.Tier, mk.MR, mk.W, s.PW)
	sh := drivers.QGemmShape{Name: name, N: s.N, K: s.K, PW: s.PW, MR: mk.MR, W: mk.W}
	return function(doc, name, "QGemm", tmpl.Binding{Shape: sh, Hooks: map[string]tmpl.Hook{"Micro": table(mk, RowCounts(mk.MR, 0))}})
}
