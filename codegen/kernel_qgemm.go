package codegen

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/runtime/quant"
)

// The integer linear layer on the isa.QGemm family (docs/algorithms.md
// §5.5): activations of 8 bits and weights of int8 run as an unsigned ×
// signed byte GEMM with int32 sums — VPDPBUSD on VNNI, the exact widened
// VPMADDWD path on AVX2, SDOT on arm64 with the dot product, SMULL/SADALP
// on other NEON CPUs, quant.GemmU8S8 (the twin) elsewhere and under
// purego — instead of kernels.QLinear's int64 loop. The weights are packed at
// build time (quant.PackS8, 32-column panels) and stored as bytes in
// weights.bin. An activation x enters as the byte u = x − lo (lo the
// activation type's least value, −128 or 0), so
//
//	Σ_k (x_k − Z_x)·w_jk = Σ_k u_k·w_jk + (lo − Z_x)·Σ_k w_jk,
//
// the second term a per-channel constant (the correction table) added
// with the bias before the layer's own epilogue (kernels.QEpi), which
// is the reference's: the kernel is bit-exact with ir.Eval wherever the
// int32 sums are exact (K·255·128 < 2^31, checked here).

// qgemmPW is the panel width the integer weights are packed in: the
// amd64 VNNI tile's width, a whole number of its AVX2 tiles and of the
// arm64 tiles (8 columns).
const qgemmPW = 32

// qgemmRows is the rows of x a parallel item converts and multiplies.
const qgemmRows = 16

// qgemmFits reports whether the quantized linear c runs on the integer
// GEMM: 8-bit activations, int8 constant weights, sums exact in int32.
func qgemmFits(c *kctx) bool {
	x, w := c.in(0), c.in(1)
	if x.DType != ir.I8 && x.DType != ir.U8 || w.DType != ir.I8 {
		return false
	}
	if !isDenseConst(c.node.Inputs[1]) {
		return false
	}
	k := w.Shape[1].B
	return k >= 1 && int64(k)*255*128 < 1<<31
}

// genQLinearGemm specialises kernels.QGemm, the quantized linear on the
// integer GEMM: per item, a block of up to qgemmRows rows of x converted
// to bytes, their int32 sums by every target's QGemm kernel (tier
// switch, the twin as default), then the correction, the bias and the
// epilogue per output. b holds the layer's bindings (qlayer).
func genQLinearGemm(c *kctx, e kernels.QEpi, b tmpl.Binding) error {
	k, nOut := c.in(1).Shape[1].B, c.in(1).Shape[0].B
	s, err := kernels.QGemmOf(c.node, e, c.node.Inputs[1].Const.I, qgemmPW, qgemmRows)
	if err != nil {
		return err
	}
	table := fmt.Sprintf("qcorr_%x", sha256.Sum256([]byte(fmt.Sprint(s.Corr))))[:6+12]
	c.helper(table, corrDecl(table, s.Corr))
	c.packInt8(1, fmt.Sprintf("s8pw%d", qgemmPW), func(w []int64) []int8 {
		b := make([]int8, len(w))
		for i, v := range w {
			b[i] = int8(v)
		}
		return quant.PackS8(b, nOut, k, qgemmPW)
	})
	ks := c.kernels(func(t isa.Target) []isa.Kernel { return t.QGemm(isa.QGemmSpec{N: nOut, K: k, PW: qgemmPW}) })
	// Per row: 4·G bytes of activations (G float32 words) and N int32
	// sums, in the kernel's scratch.
	c.scratchBuf(s.Rows.MulInt(s.G + nOut))
	c.parallel(fmt.Sprintf("(%s+%d)/%d", dimExpr(s.Rows), qgemmRows-1, qgemmRows), 1)
	b.Shape = s
	b.Hooks["Corr"] = tmpl.Var{Name: table}
	b.Hooks["Gemm"] = dispatchHook(ks, nil, 0)
	return c.template("QGemm", b)
}

// corrDecl declares a correction table.
func corrDecl(name string, corr []int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s is (lo − Z_x)·Σ_k w[j, k] per output channel j: what the byte shift of\n// the activations takes from the integer GEMM's sums.\nvar %s = [...]int64{", name, name)
	for i, v := range corr {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, v)
	}
	b.WriteString("}\n")
	return b.String()
}
