package ptx

import (
	"fmt"
	"math"
)

// AttentionSpec is the attention family: q[B,T,D], k[B,S,D], v[B,S,Dv]
// (rows QStride, KStride, VStride elements apart), y[B,T,Dv]; head h
// takes columns h·D/Heads … of q and k and h·Dv/Heads … of v, y =
// softmax(Scale·q_h·k_hᵀ)·v_h, keys j > i masked when Causal. B is the
// batch, given at run time.
//
// One warp computes one query row of one head: it stages the scaled
// query in shared memory, each lane scores keys lane, lane+32, … (a dot
// product over the head's columns, the query read by broadcast), the
// warp reduces the scores' max and sum by shuffles, writes the
// probabilities to shared memory, and each lane accumulates output
// columns lane, lane+32, … over the keys (v read coalesced).
type AttentionSpec struct {
	T, S, D, Dv, Heads        int
	QStride, KStride, VStride int
	Causal                    bool
	Scale                     float32
	WarpsPerBlock             int
}

// MaxAttentionKeys is the most keys a row's scores can hold (32 per lane).
const MaxAttentionKeys = 32 * 32

// AttentionName is the kernel's name.
func AttentionName(s AttentionSpec) string {
	n := fmt.Sprintf("attention_t%d_s%d_d%d_dv%d_h%d_st%dx%dx%d_sc%08x_w%d", s.T, s.S, s.D, s.Dv, s.Heads, s.QStride, s.KStride, s.VStride, math.Float32bits(s.Scale), s.WarpsPerBlock)
	if s.Causal {
		n += "_causal"
	}
	return n
}

// Attention generates the kernel. Parameters: y, q, k, v, then the batch.
func Attention(s AttentionSpec) (*Kernel, Launch, error) {
	if s.Heads < 1 || s.D%s.Heads != 0 || s.Dv%s.Heads != 0 {
		return nil, Launch{}, fmt.Errorf("attention: %d heads do not divide D %d and Dv %d", s.Heads, s.D, s.Dv)
	}
	if s.S > MaxAttentionKeys {
		return nil, Launch{}, fmt.Errorf("attention over %d keys has no PTX generator (at most %d)", s.S, MaxAttentionKeys)
	}
	if s.WarpsPerBlock == 0 {
		s.WarpsPerBlock = 4
	}
	dh, dv := s.D/s.Heads, s.Dv/s.Heads
	per := (dh + s.S + 3) &^ 3 // floats of shared memory a warp, 16-byte aligned
	if per*4*s.WarpsPerBlock > 48<<10 {
		return nil, Launch{}, fmt.Errorf("attention: %d warps of %d keys exceed 48 KiB of shared memory", s.WarpsPerBlock, s.S)
	}
	name := AttentionName(s)
	k := NewKernel(name, 32*s.WarpsPerBlock)
	y, q, kk, v := k.ptrParam("y"), k.ptrParam("q"), k.ptrParam("k"), k.ptrParam("v")
	batch := k.u32Param("batch")
	rowsPerBatch := s.T * s.Heads
	l := Launch{Kernel: name, Block: 32 * s.WarpsPerBlock,
		Grid: grid1(Rows{A: rowsPerBatch}, s.WarpsPerBlock),
		Args: []Arg{{Ptr: "y"}, {Ptr: "q"}, {Ptr: "k"}, {Ptr: "v"}, {A: 1}}}

	tid, ctaid := k.special("%tid.x"), k.special("%ctaid.x")
	lane, warp, w := k.Reg(B32), k.Reg(B32), k.Reg(B32)
	k.Op("and.b32", lane, tid, Imm(31))
	k.Op("shr.u32", warp, tid, Imm(5))
	k.Op("mad.lo.s32", w, ctaid, Imm(s.WarpsPerBlock), warp)
	total, p := k.Reg(B32), k.Reg(Pred)
	k.Op("mul.lo.s32", total, batch, Imm(rowsPerBatch))
	k.Op("setp.ge.u32", p, w, total)
	k.If(p, false, "bra", Sym("$Ldone"))
	// w = (b·Heads + h)·T + i
	i, bh, h, b := k.Reg(B32), k.Reg(B32), k.Reg(B32), k.Reg(B32)
	k.Op("rem.u32", i, w, Imm(s.T))
	k.Op("div.u32", bh, w, Imm(s.T))
	k.Op("rem.u32", h, bh, Imm(s.Heads))
	k.Op("div.u32", b, bh, Imm(s.Heads))

	// This warp's shared memory: the query (dh floats), then the
	// probabilities (S floats).
	sm := k.Shared("smem", per*4*s.WarpsPerBlock)
	sq, sp := k.Reg(B32), k.Reg(B32)
	k.Op("mad.lo.s32", sq, warp, Imm(per*4), sm)
	k.Op("add.s32", sp, sq, Imm(dh*4))

	// Stage Scale·q.
	qrow := k.Reg(B32)
	k.Op("mad.lo.s32", qrow, b, Imm(s.T), i)
	k.Op("mul.lo.s32", qrow, qrow, Imm(s.QStride))
	k.Op("mad.lo.s32", qrow, h, Imm(dh), qrow)
	qv := k.Reg(F32)
	for u := 0; u < dh; u += 32 {
		d, ok := k.Reg(B32), k.Reg(Pred)
		k.Op("add.s32", d, lane, Imm(u))
		k.Op("setp.lt.u32", ok, d, Imm(dh))
		skip := k.NewLabel()
		k.If(ok, true, "bra", skip)
		idx := k.Reg(B32)
		k.Op("add.s32", idx, qrow, d)
		k.Op("ld.global.nc.f32", qv, Addr{k.elemAddr(q, idx, 4), 0})
		k.Op("mul.f32", qv, qv, FImm(s.Scale))
		a := k.Reg(B32)
		k.Op("mad.lo.s32", a, d, Imm(4), sq)
		k.Op("st.shared.f32", Addr{a, 0}, qv)
		k.Place(skip)
	}
	k.Op("bar.warp.sync", Imm(-1))

	// Scores: lane scores keys lane + 32·t.
	V := (s.S + 31) / 32
	sc := k.Regs(F32, V)
	oks := make([]Reg, V)
	keys := make([]Reg, V)
	krow0 := k.Reg(B32)
	k.Op("mul.lo.s32", krow0, b, Imm(s.S))
	vec := dh%4 == 0 && s.KStride%4 == 0
	for t := range V {
		j, ok := k.Reg(B32), k.Reg(Pred)
		k.Op("add.s32", j, lane, Imm(32*t))
		k.Op("setp.lt.u32", ok, j, Imm(s.S))
		if s.Causal {
			c := k.Reg(Pred)
			k.Op("setp.le.u32", c, j, i)
			k.Op("and.pred", ok, ok, c)
		}
		oks[t], keys[t] = ok, j
		k.Op("mov.f32", sc[t], FImm(float32(math.Inf(-1))))
		skip := k.NewLabel()
		k.If(ok, true, "bra", skip)
		kr := k.Reg(B32)
		k.Op("add.s32", kr, krow0, j)
		k.Op("mul.lo.s32", kr, kr, Imm(s.KStride))
		k.Op("mad.lo.s32", kr, h, Imm(dh), kr)
		kp := k.elemAddr(kk, kr, 4)
		k.Op("mov.f32", sc[t], FImm(0))
		step := 1
		if vec {
			step = 4
		}
		kv, qs := k.Regs(F32, step), k.Regs(F32, step)
		for d := 0; d < dh; d += step {
			if vec {
				k.Op("ld.global.nc.v4.f32", Vec(kv), Addr{kp, 4 * d})
				k.Op("ld.shared.v4.f32", Vec(qs), Addr{sq, 4 * d})
			} else {
				k.Op("ld.global.nc.f32", kv[0], Addr{kp, 4 * d})
				k.Op("ld.shared.f32", qs[0], Addr{sq, 4 * d})
			}
			for e := range step {
				k.Op("fma.rn.f32", sc[t], qs[e], kv[e], sc[t])
			}
		}
		k.Place(skip)
	}
	mx := k.Reg(F32)
	k.Op("mov.f32", mx, sc[0])
	for t := 1; t < V; t++ {
		k.Op("max.NaN.f32", mx, mx, sc[t])
	}
	k.warpReduce("max.NaN.f32", mx)
	sum := k.Reg(F32)
	k.Op("mov.f32", sum, FImm(0))
	for t := range V {
		k.Op("sub.f32", sc[t], sc[t], mx)
		k.exp(sc[t], sc[t])
		k.If(oks[t], true, "mov.f32", sc[t], FImm(0))
		k.Op("add.f32", sum, sum, sc[t])
	}
	k.warpReduce("add.f32", sum)
	inv := k.Reg(F32)
	k.Op("rcp.rn.f32", inv, sum)
	for t := range V {
		in, a := k.Reg(Pred), k.Reg(B32)
		k.Op("setp.lt.u32", in, keys[t], Imm(s.S))
		k.Op("mul.f32", sc[t], sc[t], inv)
		k.Op("mad.lo.s32", a, keys[t], Imm(4), sp)
		k.If(in, false, "st.shared.f32", Addr{a, 0}, sc[t])
	}
	k.Op("bar.warp.sync", Imm(-1))

	// Output columns lane + 32·u: Σ_j p_j·v[b, j, h·dv + d].
	keysUsed := Reg{} // causal: keys 0…i, else all S
	if s.Causal {
		keysUsed = k.Reg(B32)
		k.Op("add.s32", keysUsed, i, Imm(1))
	}
	vrow0, yrow := k.Reg(B32), k.Reg(B32)
	k.Op("mul.lo.s32", vrow0, b, Imm(s.S*s.VStride))
	k.Op("mad.lo.s32", vrow0, h, Imm(dv), vrow0)
	k.Op("mad.lo.s32", yrow, b, Imm(s.T), i)
	k.Op("mul.lo.s32", yrow, yrow, Imm(s.Dv))
	k.Op("mad.lo.s32", yrow, h, Imm(dv), yrow)
	for u := 0; u < dv; u += 32 {
		d, ok := k.Reg(B32), k.Reg(Pred)
		k.Op("add.s32", d, lane, Imm(u))
		k.Op("setp.lt.u32", ok, d, Imm(dv))
		skip := k.NewLabel()
		k.If(ok, true, "bra", skip)
		acc, pj, vj, j := k.Reg(F32), k.Reg(F32), k.Reg(F32), k.Reg(B32)
		k.Op("mov.f32", acc, FImm(0))
		vp := k.Reg(B32)
		k.Op("add.s32", vp, vrow0, d)
		vaddr := k.elemAddr(v, vp, 4)
		pa := k.Reg(B32)
		k.Op("mov.u32", pa, sp)
		var end any = Imm(s.S)
		if s.Causal {
			end = keysUsed
		}
		k.loop(j, Imm(0), end, Imm(1), func() {
			k.Op("ld.shared.f32", pj, Addr{pa, 0})
			k.Op("ld.global.nc.f32", vj, Addr{vaddr, 0})
			k.Op("fma.rn.f32", acc, pj, vj, acc)
			k.Op("add.s32", pa, pa, Imm(4))
			k.Op("add.s64", vaddr, vaddr, Imm(4*s.VStride))
		})
		yi := k.Reg(B32)
		k.Op("add.s32", yi, yrow, d)
		k.Op("st.global.f32", Addr{k.elemAddr(y, yi, 4), 0}, acc)
		k.Place(skip)
	}
	k.Place("$Ldone")
	return k, l, nil
}
