package ptx

import (
	"fmt"
	"math"
)

// RowSpec is the row family (softmax, log-softmax, layernorm): Rows
// rows of L elements, one warp per row, WarpsPerBlock warps a block. Row
// r's elements are at (r / Inner)·L·Inner + r % Inner + j·Inner (Inner 1:
// contiguous rows; softmax along an inner axis has Inner > 1). A row of
// up to 32·32 elements is held in registers, 32 a lane, and read once;
// a longer one is read in passes (L2-resident).
type RowSpec struct {
	Op            string // "softmax", "log_softmax", "layernorm"
	Rows          Rows
	L, Inner      int
	Eps           float32 // layernorm
	Scale, Bias   bool    // layernorm's affine inputs
	WarpsPerBlock int
}

// RowName is the kernel's name.
func RowName(s RowSpec) string {
	n := fmt.Sprintf("%s_l%d", s.Op, s.L)
	if s.Inner > 1 {
		n += fmt.Sprintf("_i%d", s.Inner)
	}
	if s.Op == "layernorm" {
		n += fmt.Sprintf("_e%08x", math.Float32bits(s.Eps))
		if s.Scale {
			n += "_scale"
		}
		if s.Bias {
			n += "_bias"
		}
	}
	return n + fmt.Sprintf("_w%d", s.WarpsPerBlock)
}

// maxCached is the longest row held in registers (32 values a lane).
const maxCached = 32 * 32

// Row generates the kernel. Parameters: y, x, then scale and bias for an
// affine layernorm, then the row count.
func Row(s RowSpec) (*Kernel, Launch, error) {
	switch s.Op {
	case "softmax", "log_softmax", "layernorm":
	default:
		return nil, Launch{}, fmt.Errorf("row op %s has no PTX generator", s.Op)
	}
	if s.Inner < 1 {
		s.Inner = 1
	}
	if s.Op == "layernorm" && s.Inner != 1 {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: layernorm rows are contiguous")
	}
	if s.Bias && !s.Scale {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: layernorm with a bias but no scale")
	}
	if s.WarpsPerBlock == 0 {
		s.WarpsPerBlock = 4
	}
	name := RowName(s)
	k := NewKernel(name, 32*s.WarpsPerBlock)
	y, x := k.ptrParam("y"), k.ptrParam("x")
	l := Launch{Kernel: name, Block: 32 * s.WarpsPerBlock, Grid: grid1(s.Rows, s.WarpsPerBlock), Args: []Arg{{Ptr: "y"}, {Ptr: "x"}}}
	var scale, bias Reg
	if s.Scale {
		scale = k.ptrParam("scale")
		l.Args = append(l.Args, Arg{Ptr: "scale"})
	}
	if s.Bias {
		bias = k.ptrParam("bias")
		l.Args = append(l.Args, Arg{Ptr: "bias"})
	}
	rows := k.u32Param("rows")
	l.Args = append(l.Args, s.Rows.arg())

	tid := k.special("%tid.x")
	lane, row := k.Reg(B32), k.Reg(B32)
	k.Op("and.b32", lane, tid, Imm(31))
	k.Op("shr.u32", row, tid, Imm(5))
	ctaid := k.special("%ctaid.x")
	k.Op("mad.lo.s32", row, ctaid, Imm(s.WarpsPerBlock), row)
	p := k.Reg(Pred)
	k.Op("setp.ge.u32", p, row, rows)
	k.If(p, false, "bra", Sym("$Ldone")) // whole warps leave together
	// base = (row / Inner)·L·Inner + row % Inner
	base := k.Reg(B32)
	if s.Inner == 1 {
		k.Op("mul.lo.s32", base, row, Imm(s.L))
	} else {
		o, i := k.Reg(B32), k.Reg(B32)
		k.Op("div.u32", o, row, Imm(s.Inner))
		k.Op("rem.u32", i, row, Imm(s.Inner))
		k.Op("mad.lo.s32", base, o, Imm(s.L*s.Inner), i)
	}
	r := &rowKernel{RowSpec: s, k: k, y: y, x: x, scale: scale, bias: bias, lane: lane, base: base}
	if s.L <= maxCached {
		r.cached()
	} else {
		r.passes()
	}
	k.Place("$Ldone")
	return k, l, nil
}

type rowKernel struct {
	RowSpec
	k                 *Kernel
	y, x, scale, bias Reg
	lane, base        Reg
}

// element returns a predicate "lane's t-th element exists" and its index
// j = lane + 32·t within the row.
func (r *rowKernel) element(t int) (Reg, Reg) {
	k := r.k
	j, ok := k.Reg(B32), k.Reg(Pred)
	k.Op("add.s32", j, r.lane, Imm(32*t))
	k.Op("setp.lt.u32", ok, j, Imm(r.L))
	return ok, j
}

// addr returns the address of element j of the row in buf.
func (r *rowKernel) addr(buf, j Reg) Reg {
	k := r.k
	i := k.Reg(B32)
	k.Op("mad.lo.s32", i, j, Imm(r.Inner), r.base)
	return k.elemAddr(buf, i, 4)
}

// cached: the row in registers, one read and one write per element.
func (r *rowKernel) cached() {
	k := r.k
	V := (r.L + 31) / 32
	v := k.Regs(F32, V)
	oks := make([]Reg, V)
	js := make([]Reg, V)
	pad := FImm(float32(math.Inf(-1)))
	if r.Op == "layernorm" {
		pad = FImm(0)
	}
	for t := range V {
		oks[t], js[t] = r.element(t)
		k.Op("mov.f32", v[t], pad)
		k.If(oks[t], false, "ld.global.nc.f32", v[t], Addr{r.addr(r.x, js[t]), 0})
	}
	if r.Op == "layernorm" {
		mean := k.Reg(F32)
		k.Op("mov.f32", mean, FImm(0))
		for t := range V {
			k.Op("add.f32", mean, mean, v[t])
		}
		k.warpReduce("add.f32", mean)
		k.Op("mul.f32", mean, mean, FImm(float32(1/float64(r.L))))
		ss := k.Reg(F32)
		k.Op("mov.f32", ss, FImm(0))
		for t := range V {
			k.Op("sub.f32", v[t], v[t], mean)
			d := k.Reg(F32)
			k.Op("selp.f32", d, v[t], FImm(0), oks[t]) // padding lanes add nothing
			k.Op("fma.rn.f32", ss, d, d, ss)
		}
		k.warpReduce("add.f32", ss)
		rstd := r.rstd(ss)
		for t := range V {
			k.Op("mul.f32", v[t], v[t], rstd)
		}
		r.affineStore(v, oks, js)
		return
	}
	mx := k.Reg(F32)
	k.Op("mov.f32", mx, v[0])
	for t := 1; t < V; t++ {
		k.Op("max.NaN.f32", mx, mx, v[t])
	}
	k.warpReduce("max.NaN.f32", mx)
	sum := k.Reg(F32)
	k.Op("mov.f32", sum, FImm(0))
	e := k.Regs(F32, V)
	for t := range V {
		k.Op("sub.f32", e[t], v[t], mx)
		k.exp(e[t], e[t])
		// Padding lanes: exp(−inf − max) is 0 unless the max is −inf or
		// NaN, when the row is NaN anyway.
		k.If(oks[t], true, "mov.f32", e[t], FImm(0))
		k.Op("add.f32", sum, sum, e[t])
	}
	k.warpReduce("add.f32", sum)
	if r.Op == "log_softmax" {
		ls := k.Reg(F32)
		k.Op("lg2.approx.f32", ls, sum)
		k.Op("fma.rn.f32", ls, ls, FImm(math.Ln2), mx)
		for t := range V {
			k.Op("sub.f32", e[t], v[t], ls)
		}
	} else {
		inv := k.Reg(F32)
		k.Op("rcp.rn.f32", inv, sum)
		for t := range V {
			k.Op("mul.f32", e[t], e[t], inv)
		}
	}
	for t := range V {
		k.If(oks[t], false, "st.global.f32", Addr{r.addr(r.y, js[t]), 0}, e[t])
	}
}

// rstd returns 1/√(ss/L + ε).
func (r *rowKernel) rstd(ss Reg) Reg {
	k := r.k
	d := k.Reg(F32)
	k.Op("fma.rn.f32", d, ss, FImm(float32(1/float64(r.L))), FImm(r.Eps))
	k.Op("sqrt.rn.f32", d, d)
	k.Op("rcp.rn.f32", d, d)
	return d
}

// affineStore applies layernorm's scale and bias (element j's) and stores.
func (r *rowKernel) affineStore(v, oks, js []Reg) {
	k := r.k
	for t := range v {
		skip := k.NewLabel()
		k.If(oks[t], true, "bra", skip)
		if r.Scale {
			sc := k.Reg(F32)
			k.Op("ld.global.nc.f32", sc, Addr{k.elemAddr(r.scale, js[t], 4), 0})
			if r.Bias {
				b := k.Reg(F32)
				k.Op("ld.global.nc.f32", b, Addr{k.elemAddr(r.bias, js[t], 4), 0})
				k.Op("fma.rn.f32", v[t], v[t], sc, b)
			} else {
				k.Op("mul.f32", v[t], v[t], sc)
			}
		}
		k.Op("st.global.f32", Addr{r.addr(r.y, js[t]), 0}, v[t])
		k.Place(skip)
	}
}

// passes: rows too long for registers, read once per statistic and once
// more to write.
func (r *rowKernel) passes() {
	k := r.k
	j := k.Reg(B32)
	v := k.Reg(F32)
	load := func() {
		k.Op("ld.global.nc.f32", v, Addr{r.addr(r.x, j), 0})
	}
	if r.Op == "layernorm" {
		mean, ss := k.Reg(F32), k.Reg(F32)
		k.Op("mov.f32", mean, FImm(0))
		k.loop(j, r.lane, Imm(r.L), Imm(32), func() {
			load()
			k.Op("add.f32", mean, mean, v)
		})
		k.warpReduce("add.f32", mean)
		k.Op("mul.f32", mean, mean, FImm(float32(1/float64(r.L))))
		k.Op("mov.f32", ss, FImm(0))
		k.loop(j, r.lane, Imm(r.L), Imm(32), func() {
			load()
			k.Op("sub.f32", v, v, mean)
			k.Op("fma.rn.f32", ss, v, v, ss)
		})
		k.warpReduce("add.f32", ss)
		rstd := r.rstd(ss)
		k.loop(j, r.lane, Imm(r.L), Imm(32), func() {
			load()
			k.Op("sub.f32", v, v, mean)
			k.Op("mul.f32", v, v, rstd)
			if r.Scale {
				sc := k.Reg(F32)
				k.Op("ld.global.nc.f32", sc, Addr{k.elemAddr(r.scale, j, 4), 0})
				if r.Bias {
					b := k.Reg(F32)
					k.Op("ld.global.nc.f32", b, Addr{k.elemAddr(r.bias, j, 4), 0})
					k.Op("fma.rn.f32", v, v, sc, b)
				} else {
					k.Op("mul.f32", v, v, sc)
				}
			}
			k.Op("st.global.f32", Addr{r.addr(r.y, j), 0}, v)
		})
		return
	}
	mx, sum, e := k.Reg(F32), k.Reg(F32), k.Reg(F32)
	k.Op("mov.f32", mx, FImm(float32(math.Inf(-1))))
	k.loop(j, r.lane, Imm(r.L), Imm(32), func() {
		load()
		k.Op("max.NaN.f32", mx, mx, v)
	})
	k.warpReduce("max.NaN.f32", mx)
	k.Op("mov.f32", sum, FImm(0))
	k.loop(j, r.lane, Imm(r.L), Imm(32), func() {
		load()
		k.Op("sub.f32", e, v, mx)
		k.exp(e, e)
		k.Op("add.f32", sum, sum, e)
	})
	k.warpReduce("add.f32", sum)
	ls, inv := k.Reg(F32), k.Reg(F32)
	k.Op("lg2.approx.f32", ls, sum)
	k.Op("fma.rn.f32", ls, ls, FImm(math.Ln2), mx)
	k.Op("rcp.rn.f32", inv, sum)
	k.loop(j, r.lane, Imm(r.L), Imm(32), func() {
		load()
		if r.Op == "log_softmax" {
			k.Op("sub.f32", e, v, ls)
		} else {
			k.Op("sub.f32", e, v, mx)
			k.exp(e, e)
			k.Op("mul.f32", e, e, inv)
		}
		k.Op("st.global.f32", Addr{r.addr(r.y, j), 0}, e)
	})
}
