// Package isa is the seam between modelc's generic code generator and
// its CPU back ends. A Target is one architecture's back end: its tiers
// (instruction-set levels, best first, each with the run-time check that
// selects it) and, per kernel family, the kernels it has for a shape.
// The generic generators in codegen describe what they need as a family
// spec (LinearSpec, ConvRowSpec, …), ask every registered target for
// kernels, and emit one tier switch per call site (codegen's dispatch):
// no generic generator names a tier or an instruction.
//
// A family is a contract: every target's kernels of one family have the
// same Go signature (Family.Signature) and compute the same thing, which
// the family's doc comment states and whose pure-Go twin the generic
// generator emits as the switch's default. So a kernel is eligible
// anywhere its family is called, and its tests compare it with that twin.
//
// Every CPU target is always emitted: a generated package holds the pure
// Go kernels and every target's kernels, each target's files behind its
// build constraint (kernels_amd64.go and .s; kernels_arm64.go and .s),
// with stubs elsewhere, so one package serves every machine. Optional
// back ends that do not run on the CPU (the CUDA path) are not Targets:
// they plug in at the schedule and runtime level (docs/design.md).
//
// Adding a target is a new folder (codegen/isa/amd64 is the model; arm64
// mirrors its file names) and one line in codegen's target list.
package isa

import (
	"fmt"
	"strconv"
	"strings"
)

// Target is one CPU architecture's back end.
//
// The family methods return the target's kernels for a spec, one per
// tier that has one, best first; none means the pure-Go twin runs on
// every tier of this target. They are called once per distinct spec
// while a package is generated, in any order, and must be deterministic.
// Render is called last, once, with the kernels the package calls.
type Target interface {
	// Name names the target's files (kernels_NAME.go) and prefixes its
	// tier flags (NAME + tier, e.g. amd64AVX512).
	Name() string
	// GOARCH is the architecture the target's kernels run on.
	GOARCH() string
	// Constraint is the build constraint its files need beyond GOARCH,
	// e.g. "!purego"; "" for none.
	Constraint() string
	// Tiers lists the target's tiers, best first.
	Tiers() []Tier

	Linear(LinearSpec) []Kernel
	ConvBlock(ConvBlockSpec) []Kernel
	ConvRow(ConvRowSpec) []Kernel
	Depthwise(DepthwiseSpec) []Kernel
	Attention(AttentionSpec) []Kernel
	Elementwise(ElementwiseSpec) []Kernel
	LayerNorm(LayerNormSpec) []Kernel
	Softmax(SoftmaxSpec) []Kernel
	QGemm(QGemmSpec) []Kernel

	// Render writes the target's files for the kernels in f (each once,
	// in first-use order): the kernels' Go source under BuildConstraint,
	// the tier flags, and whatever else the target needs (assembly).
	// The stubs that stand in for them elsewhere are codegen's (Stubs).
	Render(f File) (map[string][]byte, error)
}

// Tier is one instruction-set level of a target.
type Tier struct {
	// Name is the tier's name ("avx512"), the suffix of its kernels'
	// names and, after the target's name, of its flag (Flag).
	Name string
	// Check is a Go expression, valid in the target's files (which
	// import modelc's runtime as rt), that is true when this process
	// may run the tier's kernels, e.g. rt.Supports(rt.TierAVX512).
	Check string
}

// Flag returns the name of the generated package-level boolean that is
// true when tier runs: a variable set from tier.Check in the target's
// files, a false constant in its stubs.
func Flag(t Target, tier Tier) string {
	return t.Name() + strings.ToUpper(tier.Name)
}

// BuildConstraint is the //go:build expression of t's files.
func BuildConstraint(t Target) string {
	if c := t.Constraint(); c != "" {
		return t.GOARCH() + " && " + c
	}
	return t.GOARCH()
}

// Kernel is one tier's kernel for one spec of a family.
type Kernel struct {
	Family Family
	Tier   Tier
	// Name is the Go function with the family's signature that generic
	// code calls; kernels of the same name are the same function.
	Name string
	// Scratch is the number of float32s of per-item scratch the kernel
	// needs (Attention only).
	Scratch int
	// Part is what the target renders for the kernel (its Go source,
	// its assembly), handed back to its Render; opaque to codegen.
	Part any
}

// File is what a target renders: the generated package's identity and
// the kernels it calls.
type File struct {
	Package string
	Header  string // comment lines that open every generated file, with "//"
	Runtime string // import path of modelc's runtime
	Kernels []Kernel
}

// Epilogue is what a kernel applies to its results after the bias and
// before it stores them: a residual of the output's shape, added, then
// an activation.
type Epilogue struct {
	Act   string // "", "relu", "gelu" (erf form), "gelu_tanh", … (Acts)
	Resid bool
}

// Acts are the activations an epilogue may name, each with the float32
// function (runtime/numerics) that is its pure-Go twin: relu max(x, 0);
// relu6 min(max(x, 0), 6) (Clip(0, 6)); hardsigmoid max(0, min(1, x/6 +
// 1/2)) (PyTorch's, ONNX HardSigmoid with alpha 1/6); hardswish
// x·hardsigmoid(x); sigmoid 1/(1 + e^−x) (numerics.Sigmoid32); silu
// x·sigmoid(x); gelu the erf form (numerics.Gelu32); gelu_tanh the tanh
// form (numerics.GeluTanh32). A family's targets may take fewer.
var Acts = []string{"relu", "relu6", "hardsigmoid", "hardswish", "sigmoid", "silu", "gelu", "gelu_tanh"}

// Suffix is a name suffix for kernels specialised to e ("_res_relu").
func (e Epilogue) Suffix() string {
	s := ""
	if e.Resid {
		s += "_res"
	}
	if e.Act != "" {
		s += "_" + e.Act
	}
	return s
}

// Family is a kernel contract shared by every target.
type Family int

const (
	// Linear computes panels [lo, hi) of y[m×N] = x[m×K]·Wᵀ (+ bias),
	// then the epilogue, on W packed by gemm.Pack into Panels() panels of
	// PW columns. bias, when Bias, holds Panels()·PW floats (padded with
	// anything); resid, when Epi.Resid, m×N floats.
	Linear Family = iota
	// ConvBlock computes y[i, 0:ncols] = epi(x[i, 0:K]·B[:, 0:ncols]) for
	// i < m, with rows of x, y and resid lda, ldc and ldc floats apart and
	// B packed at run time in panels of PW columns (gemm.Pack's layout,
	// negated as Pack does unless Pos); the NCHW convolution's GEMM, with
	// the weights as x and the im2col patches as B.
	ConvBlock
	// ConvRow computes one output row (OW pixels × O channels, pixel
	// major) of a direct convolution on NHWC rows of Wp padded pixels:
	// x starts at the window's top-left input, wp holds the weights
	// packed as a linear layer's [O, KH·KW·C] with K in (kh, kw, c)
	// order, bias (when Bias) Panels·PW floats; then the epilogue.
	ConvRow
	// Attention computes items [lo, hi) (batch·H + head) of
	// softmax(scale·Q·Kᵀ (causal-masked))·V for q, k, v of shapes
	// [N,T,D], [N,S,D], [N,S,Dv] into o [N,T,Dv]; scratch holds
	// Kernel.Scratch floats per item, item bh's at bh·Scratch.
	Attention
	// Elementwise applies Op to dst's leading whole vectors (a and b at
	// least as long; b read only by binary ops, s and t only by affine:
	// dst = a·s + t) and returns how many elements it did; the caller
	// finishes the rest.
	Elementwise
	// LayerNorm normalises rows [lo, hi) of I floats: (x − mean)/√(var +
	// eps)·g (+ b when Beta); with Plain, (x − mean)/√(var + eps) alone
	// (g and b unused: bn-fold moved them into the linears after it).
	LayerNorm
	// Softmax computes softmax over rows [lo, hi) of L floats; a row
	// holding NaN or +Inf, or only −Inf, comes out all NaN.
	Softmax
	// Depthwise computes one output row (OW pixels × C channels, NHWC)
	// of a depthwise convolution (one KH×KW filter per channel) on NHWC
	// rows of Wp padded pixels: x starts at the window's top-left input
	// of the row (window row kh is kh·DH·Wp pixels on, tap kw of pixel
	// ow is at pixel ow·SW + kw·DW of it), w holds the filters tap major
	// ([KH·KW][C], channels contiguous, so vectors run across channels),
	// bias (when Bias) C floats; then the epilogue, resid holding OW×C
	// floats.
	Depthwise
	// QGemm computes c[i·ldc + j] = Σ_k a[i·lda + k]·w[j, k] (int32) for
	// rows i < m and columns j < N: unsigned bytes a (rows of whole groups
	// of 4, lda ≥ 4·⌈K/4⌉) by signed bytes w packed by
	// runtime/quant.PackS8 in panels of PW columns — quant.GemmU8S8, bit
	// for bit (docs/algorithms.md §5.5); the quantized linear's GEMM.
	QGemm
	numFamilies
)

var familyInfo = [numFamilies]struct{ name, sig string }{
	Linear:      {"linear", "(m, lo, hi int, y, x, wp, bias, resid []float32)"},
	ConvBlock:   {"conv-block", "(m, ncols int, x []float32, lda int, wp []float32, y []float32, ldc int, resid []float32)"},
	ConvRow:     {"conv-row", "(x, wp, bias, y, resid []float32)"},
	Attention:   {"attention", "(lo, hi int, o, q, k, v, scratch []float32)"},
	Elementwise: {"elementwise", "(dst, a, b []float32, s, t float32) int"},
	LayerNorm:   {"layernorm", "(lo, hi int, dst, x, g, b []float32, eps float32)"},
	Softmax:     {"softmax", "(lo, hi int, dst, x []float32)"},
	Depthwise:   {"depthwise", "(x, w, bias, y, resid []float32)"},
	QGemm:       {"qgemm", "(m int, a []uint8, lda int, b []int8, c []int32, ldc int)"},
}

func (f Family) String() string {
	if f < 0 || f >= numFamilies {
		return fmt.Sprintf("family(%d)", int(f))
	}
	return familyInfo[f].name
}

// Signature is the Go signature (parameters and result) of the family's
// kernels.
func (f Family) Signature() string { return familyInfo[f].sig }

// LinearSpec is what a Linear kernel is specialised to.
type LinearSpec struct {
	N, K int // weight shape [N, K]
	PW   int // panel width of the packed weights, a multiple of 16
	Bias bool
	Epi  Epilogue
	// Tile is the autotuner's register tile for one tier, written
	// "TIER:name=value,…" in the tuning database's syntax without the
	// panel width (amd64: "avx512:mr=10", "avx2:nv=1,mr=12"); "" means
	// the target's default tiles. A target keeps its default for the
	// other tiers, and for a tile it cannot use.
	Tile string
}

// Tile is a GEMM register tile: MR rows of NV vectors.
type Tile struct{ MR, NV int }

// TunedTile returns the tile s.Tile names for tier ("avx2:nv=1,mr=12"),
// if the target lists it (LinearTiles); def and false otherwise, also
// for a choice of another tier. Parameters it leaves out are def's.
func TunedTile(t LinearTiler, s LinearSpec, tier string, def Tile) (Tile, bool) {
	name, kv, ok := strings.Cut(s.Tile, ":")
	if !ok || name != tier {
		return def, false
	}
	mr, nv, ok := parseTile(kv, def.MR, def.NV)
	if !ok {
		return def, false
	}
	for _, c := range t.LinearTiles(tier, s.PW) {
		if c.MR == mr && c.NV == nv {
			return c, true
		}
	}
	return def, false
}

// parseTile reads a tile's parameters as LinearSpec.Tile writes them
// after the tier ("mr=10", "nv=1,mr=12"), from the defaults mr and nv.
func parseTile(kv string, mr, nv int) (int, int, bool) {
	for _, f := range strings.Split(kv, ",") {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			return mr, nv, false
		}
		switch k {
		case "mr":
			mr = n
		case "nv":
			nv = n
		default:
			return mr, nv, false
		}
	}
	return mr, nv, true
}

// LinearTiler is implemented by targets whose Linear kernels take a
// register tile from the autotuner (LinearSpec.Tile): the tuner's
// variant spaces come from it.
type LinearTiler interface {
	// LinearTiles lists the register tiles Linear accepts for a tier of
	// the target at panel width pw (a multiple of 16), the default
	// first; none for a tier the target lacks.
	LinearTiles(tier string, pw int) []Tile
}

// Panels returns ⌈N/PW⌉.
func (s LinearSpec) Panels() int { return (s.N + s.PW - 1) / s.PW }

// ConvBlockSpec is what a ConvBlock kernel is specialised to.
type ConvBlockSpec struct {
	K, PW int // depth and panel width of B
	Pos   bool
	Epi   Epilogue
}

// ConvRowSpec is what a ConvRow kernel is specialised to.
type ConvRowSpec struct {
	C, O   int // input and output channels
	KH, KW int // window
	SW     int // horizontal stride (the vertical one only picks rows)
	Wp     int // padded input width, in pixels
	OW     int // output pixels per row
	PW     int // panel width of the packed weights
	Bias   bool
	Epi    Epilogue
}

// DepthwiseSpec is what a Depthwise kernel is specialised to.
type DepthwiseSpec struct {
	C      int // channels (in and out: groups = C, one filter each)
	KH, KW int // window
	SW     int // horizontal stride (the vertical one only picks rows)
	DH, DW int // dilation
	Wp     int // padded input width, in pixels
	OW     int // output pixels per row
	Bias   bool
	Epi    Epilogue
}

// Valid reports whether s is a row a Depthwise kernel can compute: a
// positive shape whose windows fit in the padded row.
func (s DepthwiseSpec) Valid() error {
	if s.C < 1 || s.KH < 1 || s.KW < 1 || s.SW < 1 || s.DH < 1 || s.DW < 1 || s.OW < 1 {
		return fmt.Errorf("depthwise %+v: every size must be positive", s)
	}
	if need := (s.OW-1)*s.SW + (s.KW-1)*s.DW + 1; need > s.Wp {
		return fmt.Errorf("depthwise %+v: the row's windows span %d pixels, wider than the padded row", s, need)
	}
	return nil
}

// AttentionSpec is what an Attention kernel is specialised to.
type AttentionSpec struct {
	T, S, D, Dv, H int // queries, keys, widths of Q/K and V over all heads, heads
	Causal         bool
	Scale          float64
}

// ElementwiseSpec is what an Elementwise kernel is specialised to.
type ElementwiseSpec struct {
	Op string // "relu", "affine", "add", "sub" or "mul"
}

// LayerNormSpec is what a LayerNorm kernel is specialised to.
type LayerNormSpec struct {
	I     int // row length
	Beta  bool
	Plain bool // no scale and no shift (Beta false)
}

// SoftmaxSpec is what a Softmax kernel is specialised to.
type SoftmaxSpec struct {
	L int // row length
}

// QGemmSpec is what a QGemm kernel is specialised to.
type QGemmSpec struct {
	N, K int // weight shape [N, K]
	PW   int // panel width of the packed weights (quant.PackS8)
}
