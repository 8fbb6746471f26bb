package ptx

import "fmt"

// ReduceSpec is the reduction family (global average pooling,
// reduce_sum, reduce_mean): out[o] = Σ (or the mean of) the input
// elements at Σ c_d·OutStrides[d] + Σ r_e·RedStrides[e], c the
// coordinates of o over OutDims (outermost first, the outermost extent
// given at run time through Count) and r those of the reduced dims.
// One thread per output element, accumulating in float32.
type ReduceSpec struct {
	Mean                bool
	OutDims, OutStrides []int
	RedDims, RedStrides []int
	Count               Rows
	Threads             int
}

// Reduce generates the kernel. Parameters: y, x, the output count.
func Reduce(s ReduceSpec) (*Kernel, Launch, error) {
	if len(s.OutDims) == 0 || len(s.OutDims) != len(s.OutStrides) || len(s.RedDims) != len(s.RedStrides) {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: malformed reduction %+v", s)
	}
	if s.Threads == 0 {
		s.Threads = 128
	}
	code := s
	code.Count = Rows{}
	op := "sum"
	if s.Mean {
		op = "mean"
	}
	name := fmt.Sprintf("reduce_%s_%s", op, specHash(code))
	k := NewKernel(name, s.Threads)
	y, x := k.ptrParam("y"), k.ptrParam("x")
	count := k.u32Param("count")
	l := Launch{Kernel: name, Block: s.Threads, Grid: grid1(s.Count, s.Threads), Args: []Arg{{Ptr: "y"}, {Ptr: "x"}, s.Count.arg()}}
	o := k.globalIndex()
	p := k.Reg(Pred)
	k.Op("setp.ge.u32", p, o, count)
	k.If(p, false, "bra", Sym("$Ldone"))
	base, rest, c := k.Reg(B32), k.Reg(B32), k.Reg(B32)
	k.Op("mov.u32", base, Imm(0))
	k.Op("mov.u32", rest, o)
	for d := len(s.OutDims) - 1; d >= 0; d-- {
		if d > 0 {
			k.Op("rem.u32", c, rest, Imm(s.OutDims[d]))
			k.Op("div.u32", rest, rest, Imm(s.OutDims[d]))
		} else {
			k.Op("mov.u32", c, rest)
		}
		k.Op("mad.lo.s32", base, c, Imm(s.OutStrides[d]), base)
	}
	n := 1
	for _, d := range s.RedDims {
		n *= d
	}
	acc, v, r := k.Reg(F32), k.Reg(F32), k.Reg(B32)
	k.Op("mov.f32", acc, FImm(0))
	k.loop(r, Imm(0), Imm(n), Imm(1), func() {
		off, rr := k.Reg(B32), k.Reg(B32)
		k.Op("mov.u32", off, base)
		k.Op("mov.u32", rr, r)
		for e := len(s.RedDims) - 1; e >= 0; e-- {
			if e > 0 {
				k.Op("rem.u32", c, rr, Imm(s.RedDims[e]))
				k.Op("div.u32", rr, rr, Imm(s.RedDims[e]))
			} else {
				k.Op("mov.u32", c, rr)
			}
			k.Op("mad.lo.s32", off, c, Imm(s.RedStrides[e]), off)
		}
		k.Op("ld.global.nc.f32", v, Addr{k.elemAddr(x, off, 4), 0})
		k.Op("add.f32", acc, acc, v)
	})
	if s.Mean {
		k.Op("div.rn.f32", acc, acc, FImm(float32(n)))
	}
	k.Op("st.global.f32", Addr{k.elemAddr(y, o, 4), 0}, acc)
	k.Place("$Ldone")
	return k, l, nil
}
