package ptx

import "fmt"

// GatherSpec is the gather family (embedding, Gather): y[o, j, d] =
// data[o, ids[j], d] for o < Outer, j < the index count, d < Inner, with
// ids int64, a negative index counting from the end of the axis of V
// entries. Outer 1 lets the index count grow with the batch (an
// embedding of batch-major token ids); otherwise it is the fixed J. An
// index out of range stores zeros and sets the run's status word, which
// the runtime turns into an error. Elem is 4 (f32) or 8 (int64 data).
type GatherSpec struct {
	Outer, J, V, Inner int
	Elem               int
	Count              Rows // elements of y
	Threads            int
}

// Gather generates the kernel. Parameters: y, data, ids, status, count.
func Gather(s GatherSpec) (*Kernel, Launch, error) {
	if s.Elem == 0 {
		s.Elem = 4
	}
	if s.Outer > 1 && s.J <= 0 || s.Elem != 4 && s.Elem != 8 {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: malformed gather %+v", s)
	}
	if s.Threads == 0 {
		s.Threads = 256
	}
	name := fmt.Sprintf("gather_o%d_j%d_v%d_i%d_e%d", s.Outer, s.J, s.V, s.Inner, s.Elem)
	if s.Outer <= 1 {
		name = fmt.Sprintf("gather_v%d_i%d_e%d", s.V, s.Inner, s.Elem)
	}
	k := NewKernel(name, s.Threads)
	y, data, ids, status := k.ptrParam("y"), k.ptrParam("data"), k.ptrParam("ids"), k.ptrParam("status")
	count := k.u32Param("count")
	l := Launch{Kernel: name, Block: s.Threads, Grid: grid1(s.Count, s.Threads), Status: true,
		Args: []Arg{{Ptr: "y"}, {Ptr: "data"}, {Ptr: "ids"}, {Ptr: "status"}, s.Count.arg()}}
	e := k.globalIndex()
	p := k.Reg(Pred)
	k.Op("setp.ge.u32", p, e, count)
	k.If(p, false, "bra", Sym("$Ldone"))
	d, rest, j, o := k.Reg(B32), k.Reg(B32), k.Reg(B32), k.Reg(B32)
	k.Op("rem.u32", d, e, Imm(s.Inner))
	k.Op("div.u32", rest, e, Imm(s.Inner))
	if s.Outer > 1 {
		k.Op("rem.u32", j, rest, Imm(s.J))
		k.Op("div.u32", o, rest, Imm(s.J))
	} else {
		k.Op("mov.u32", j, rest)
		k.Op("mov.u32", o, Imm(0))
	}
	id := k.Reg(B64)
	k.Op("ld.global.nc.s64", id, Addr{k.elemAddr(ids, j, 8), 0})
	neg := k.Reg(Pred)
	k.Op("setp.lt.s64", neg, id, Imm(0))
	k.If(neg, false, "add.s64", id, id, Imm(s.V))
	bad, hi := k.Reg(Pred), k.Reg(Pred)
	k.Op("setp.lt.s64", bad, id, Imm(0))
	k.Op("setp.ge.s64", hi, id, Imm(s.V))
	k.Op("or.pred", bad, bad, hi)
	yi := k.elemAddr(y, e, s.Elem)
	ok := k.NewLabel()
	k.If(bad, true, "bra", ok)
	k.Op("st.global.u32", Addr{status, 0}, Imm(1))
	if s.Elem == 8 {
		k.Op("st.global.b64", Addr{yi, 0}, Imm(0))
	} else {
		k.Op("st.global.f32", Addr{yi, 0}, FImm(0))
	}
	k.Op("bra", Sym("$Ldone"))
	k.Place(ok)
	row, src := k.Reg(B32), k.Reg(B32)
	k.Op("cvt.u32.u64", row, id)
	k.Op("mad.lo.s32", row, o, Imm(s.V), row)
	k.Op("mad.lo.s32", src, row, Imm(s.Inner), d)
	if s.Elem == 8 {
		v := k.Reg(B64)
		k.Op("ld.global.nc.b64", v, Addr{k.elemAddr(data, src, 8), 0})
		k.Op("st.global.b64", Addr{yi, 0}, v)
	} else {
		v := k.Reg(F32)
		k.Op("ld.global.nc.f32", v, Addr{k.elemAddr(data, src, 4), 0})
		k.Op("st.global.f32", Addr{yi, 0}, v)
	}
	k.Place("$Ldone")
	return k, l, nil
}
