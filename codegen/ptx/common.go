package ptx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/modelc/modelc/runtime/numerics"
)

// Arg says what one kernel parameter receives at launch: a tensor's
// device address (Ptr, naming the generator's operand) or a count affine
// in the batch n (Count: A·n + B).
type Arg struct {
	Ptr  string // the operand the generator names ("x", "w", "y", …), or ""
	A, B int    // the count A·n + B, when Ptr is ""
}

// Launch is how a kernel is started: its block size and grid, each grid
// dimension ⌈(A·n + B)/Div⌉ for batch n, and its parameters in order.
type Launch struct {
	Kernel string
	Block  int
	Grid   [3]GridDim
	Args   []Arg
	// Status: the kernel may set the run's status word (an index out of
	// range), which the runtime checks after the run.
	Status bool
}

// GridDim is one grid dimension, ⌈(A·n + B)/Div⌉ blocks at batch n.
type GridDim struct{ A, B, Div int }

// Blocks is the dimension's block count at batch n.
func (g GridDim) Blocks(n int) int {
	if g.Div == 0 {
		return 1
	}
	return (g.A*n + g.B + g.Div - 1) / g.Div
}

// Rows is a count affine in the batch: A·n + B.
type Rows struct{ A, B int }

// At is the count at batch n.
func (r Rows) At(n int) int { return r.A*n + r.B }

func (r Rows) arg() Arg { return Arg{A: r.A, B: r.B} }

// grid1 is a one-dimensional grid covering r items, per a block.
func grid1(r Rows, per int) [3]GridDim {
	return [3]GridDim{{r.A, r.B, per}, {0, 1, 1}, {0, 1, 1}}
}

// specHash names a kernel whose code depends on more than fits a
// readable name: the first 8 hex digits of a hash of its spec.
func specHash(spec any) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%#v", spec)))
	return hex.EncodeToString(h[:4])
}

// ptrParam declares a pointer parameter and returns a register holding it
// as a global address.
func (k *Kernel) ptrParam(name string) Reg {
	p := k.Param(name, ".u64")
	r := k.Reg(B64)
	k.Op("ld.param.u64", r, Addr{p, 0})
	k.Op("cvta.to.global.u64", r, r)
	return r
}

// u32Param declares a .u32 parameter and returns a register holding it.
func (k *Kernel) u32Param(name string) Reg {
	p := k.Param(name, ".u32")
	r := k.Reg(B32)
	k.Op("ld.param.u32", r, Addr{p, 0})
	return r
}

// special reads a special register (%tid.x, %ctaid.y, …).
func (k *Kernel) special(name string) Reg {
	r := k.Reg(B32)
	k.Op("mov.u32", r, Sym(name))
	return r
}

// globalIndex is ctaid.x·ntid.x + tid.x.
func (k *Kernel) globalIndex() Reg {
	tid, ctaid := k.special("%tid.x"), k.special("%ctaid.x")
	r := k.Reg(B32)
	k.Op("mad.lo.s32", r, ctaid, Imm(k.Threads), tid)
	return r
}

// elemAddr is base + idx·size (idx unsigned 32-bit).
func (k *Kernel) elemAddr(base, idx Reg, size int) Reg {
	off, r := k.Reg(B64), k.Reg(B64)
	k.Op("mul.wide.u32", off, idx, Imm(size))
	k.Op("add.s64", r, base, off)
	return r
}

// constF returns a register holding the float32 constant v.
func (k *Kernel) constF(v float32) Reg {
	r := k.Reg(F32)
	k.Op("mov.f32", r, FImm(v))
	return r
}

// exp computes d = eˣ as 2^(x·log₂e) (ex2.approx: relative error 2⁻²²).
func (k *Kernel) exp(d, x Reg) {
	t := k.Reg(F32)
	k.Op("mul.f32", t, x, FImm(math.Log2E))
	k.Op("ex2.approx.ftz.f32", d, t)
}

// relu sets d = max(x, 0), keeping NaN (max.f32 would drop it).
func (k *Kernel) relu(d, x Reg) {
	p := k.Reg(Pred)
	k.Op("setp.lt.f32", p, x, FImm(0))
	k.Op("selp.f32", d, FImm(0), x, p)
}

// clampKeepNaN sets d = min(max(x, lo), hi) with NaN kept (as Go's
// comparisons do: both are false for NaN).
func (k *Kernel) clampKeepNaN(d, x Reg, lo, hi float32) {
	p := k.Reg(Pred)
	k.Op("setp.gt.f32", p, x, FImm(hi))
	k.Op("selp.f32", d, FImm(hi), x, p)
	k.Op("setp.lt.f32", p, d, FImm(lo))
	k.Op("selp.f32", d, FImm(lo), d, p)
}

// erf sets d = erf(x) by runtime/numerics' rational approximation, the
// constants and order of numerics.Erf32.
func (k *Kernel) erf(d, x Reg) {
	c, x2, p, q := k.Reg(F32), k.Reg(F32), k.Reg(F32), k.Reg(F32)
	k.clampKeepNaN(c, x, -numerics.ErfClamp, numerics.ErfClamp)
	k.Op("mul.f32", x2, c, c)
	k.Op("fma.rn.f32", p, x2, FImm(numerics.ErfA13), FImm(numerics.ErfA11))
	for _, a := range []float32{numerics.ErfA9, numerics.ErfA7, numerics.ErfA5, numerics.ErfA3, numerics.ErfA1} {
		k.Op("fma.rn.f32", p, x2, p, FImm(a))
	}
	k.Op("fma.rn.f32", q, x2, FImm(numerics.ErfB8), FImm(numerics.ErfB6))
	for _, b := range []float32{numerics.ErfB4, numerics.ErfB2, numerics.ErfB0} {
		k.Op("fma.rn.f32", q, x2, q, FImm(b))
	}
	k.Op("mul.f32", p, c, p)
	k.Op("div.rn.f32", d, p, q)
}

// tanh sets d = tanh(x) as 1 − 2/(e^{2x} + 1), which is ±1 where e^{2x}
// overflows or vanishes and keeps NaN.
func (k *Kernel) tanh(d, x Reg) {
	t := k.Reg(F32)
	k.Op("add.f32", t, x, x)
	k.exp(t, t)
	k.Op("add.f32", t, t, FImm(1))
	k.Op("rcp.rn.f32", t, t)
	k.Op("fma.rn.f32", d, t, FImm(-2), FImm(1))
}

// activation applies act ("", relu, gelu, gelu_tanh) to r in place.
func (k *Kernel) activation(act string, r Reg) {
	switch act {
	case "":
	case "relu":
		k.relu(r, r)
	case "gelu":
		h, e := k.Reg(F32), k.Reg(F32)
		k.Op("mul.f32", h, r, FImm(0.5))
		k.Op("mul.f32", e, r, FImm(numerics.InvSqrt2))
		k.erf(e, e)
		k.Op("fma.rn.f32", r, h, e, h)
	case "gelu_tanh":
		// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
		u, x3 := k.Reg(F32), k.Reg(F32)
		k.Op("mul.f32", x3, r, r)
		k.Op("mul.f32", x3, x3, r)
		k.Op("fma.rn.f32", u, x3, FImm(0.044715), r)
		k.Op("mul.f32", u, u, FImm(float32(math.Sqrt(2/math.Pi))))
		k.tanh(u, u)
		k.Op("add.f32", u, u, FImm(1))
		k.Op("mul.f32", u, u, r)
		k.Op("mul.f32", r, u, FImm(0.5))
	default:
		panic("ptx: activation " + act)
	}
}

// Activations are the epilogue activations the generators implement.
var Activations = map[string]bool{"": true, "relu": true, "gelu": true, "gelu_tanh": true}

// warpReduce combines r across the warp's 32 lanes with op ("add.f32",
// "max.f32"), by butterfly shuffles: every lane ends with the result.
func (k *Kernel) warpReduce(op string, r Reg) {
	t := k.Reg(F32)
	for s := 16; s >= 1; s /= 2 {
		k.Op("shfl.sync.bfly.b32", t, r, Imm(s), Imm(31), Imm(-1))
		k.Op(op, r, r, t)
	}
}

// loop emits for (i = from; i < to; i += step) { body } with i a .b32
// register and to a register or immediate; the body runs at least zero
// times.
func (k *Kernel) loop(i Reg, from any, to any, step any, body func()) {
	top, done := k.NewLabel(), k.NewLabel()
	p := k.Reg(Pred)
	k.Op("mov.u32", i, from)
	k.Place(top)
	k.Op("setp.ge.s32", p, i, to)
	k.If(p, false, "bra", done)
	body()
	k.Op("add.s32", i, i, step)
	k.Op("bra", top)
	k.Place(done)
}
