package ptx

import (
	"fmt"
	"math"
)

// Operand is one input of an element-wise kernel: a tensor read through
// strides over the output's coordinates (0 along a broadcast dimension)
// from element Offset, or, when Splat, the constant Value.
type Operand struct {
	Strides []int
	Offset  int
	Splat   bool
	Value   float32
}

// ElementwiseSpec is the element-wise family: out[c] = op(in₀[c], in₁[c],
// …) over the coordinates c of Dims (outermost first; the outermost
// extent may grow with the batch: the kernel takes the element count
// Count at run time and never needs Dims[0]). Out is written through
// OutStrides from OutOffset, so the same family copies a tensor into a
// slice of another (concat, pad) and reads one through any strides
// (transpose, relayout, slice, expand, split). Elem is the element size:
// 4, or 8 for copies of 64-bit integers (op "copy" only).
type ElementwiseSpec struct {
	Op         string
	Alpha      float32 // leaky_relu's slope, clip's min, hard_sigmoid's alpha, fill's value
	Beta       float32 // clip's max, hard_sigmoid's beta
	Dims       []int
	OutStrides []int
	OutOffset  int
	Ins        []Operand
	Elem       int
	Count      Rows
	Threads    int // block size (default 256)
}

// ElementwiseOps are the ops the family implements, by arity.
var ElementwiseOps = map[string]int{
	"fill": 0,
	"copy": 1, "relu": 1, "neg": 1, "abs": 1, "sqrt": 1, "exp": 1, "log": 1, "sigmoid": 1, "tanh": 1,
	"erf": 1, "gelu": 1, "gelu_tanh": 1, "leaky_relu": 1, "clip": 1, "hard_sigmoid": 1, "reciprocal": 1,
	"add": 2, "sub": 2, "mul": 2, "div": 2, "max": 2, "min": 2,
}

// Merge simplifies a strided spec: dimensions of extent 1 are dropped
// and adjacent dimensions that every operand (and the output) walks
// contiguously become one, so a dense same-shape op is one flat loop.
func (s *ElementwiseSpec) Merge() {
	type dim struct {
		n       int
		out     int
		strides []int
	}
	var ds []dim
	for i, n := range s.Dims {
		if n == 1 && i > 0 {
			continue
		}
		d := dim{n: n, out: s.OutStrides[i]}
		for _, in := range s.Ins {
			if !in.Splat {
				d.strides = append(d.strides, in.Strides[i])
			}
		}
		ds = append(ds, d)
	}
	var merged []dim
	for _, d := range ds {
		if len(merged) > 0 {
			p := &merged[len(merged)-1]
			ok := p.out == d.out*d.n
			for j := range d.strides {
				ok = ok && p.strides[j] == d.strides[j]*d.n
			}
			if ok {
				p.n, p.out, p.strides = p.n*d.n, d.out, d.strides
				continue
			}
		}
		merged = append(merged, d)
	}
	s.Dims, s.OutStrides = nil, nil
	for i := range s.Ins {
		if !s.Ins[i].Splat {
			s.Ins[i].Strides = nil
		}
	}
	for _, d := range merged {
		s.Dims = append(s.Dims, d.n)
		s.OutStrides = append(s.OutStrides, d.out)
		j := 0
		for i := range s.Ins {
			if !s.Ins[i].Splat {
				s.Ins[i].Strides = append(s.Ins[i].Strides, d.strides[j])
				j++
			}
		}
	}
}

// Elementwise generates the kernel: one thread per output element.
// Parameters: y, then each non-splat input (x0, x1, …), then the count.
func Elementwise(s ElementwiseSpec) (*Kernel, Launch, error) {
	arity, ok := ElementwiseOps[s.Op]
	if !ok {
		return nil, Launch{}, fmt.Errorf("element-wise op %s has no PTX generator", s.Op)
	}
	if len(s.Ins) != arity {
		return nil, Launch{}, fmt.Errorf("BUG: ptx: %s takes %d operands, got %d", s.Op, arity, len(s.Ins))
	}
	if s.Elem == 0 {
		s.Elem = 4
	}
	if s.Elem != 4 && (s.Elem != 8 || s.Op != "copy") {
		return nil, Launch{}, fmt.Errorf("element-wise %s on %d-byte elements has no PTX generator", s.Op, s.Elem)
	}
	if s.Threads == 0 {
		s.Threads = 256
	}
	code := s
	code.Count = Rows{} // a run-time parameter
	name := fmt.Sprintf("ew_%s_%s", s.Op, specHash(code))
	k := NewKernel(name, s.Threads)
	y := k.ptrParam("y")
	launch := Launch{Kernel: name, Block: s.Threads, Grid: grid1(s.Count, s.Threads), Args: []Arg{{Ptr: "y"}}}
	var xs []Reg
	for i, in := range s.Ins {
		if in.Splat {
			xs = append(xs, Reg{})
			continue
		}
		nm := fmt.Sprintf("x%d", i)
		xs = append(xs, k.ptrParam(nm))
		launch.Args = append(launch.Args, Arg{Ptr: nm})
	}
	count := k.u32Param("count")
	launch.Args = append(launch.Args, s.Count.arg())
	i := k.globalIndex()
	p := k.Reg(Pred)
	k.Op("setp.ge.u32", p, i, count)
	k.If(p, false, "bra", Sym("$Ldone"))

	// Decompose i into coordinates, innermost first, accumulating each
	// operand's element offset.
	offs := make([]Reg, len(s.Ins)+1) // [0] the output's
	for j := range offs {
		offs[j] = k.Reg(B32)
	}
	k.Op("mov.u32", offs[0], Imm(s.OutOffset))
	for j, in := range s.Ins {
		if !in.Splat {
			k.Op("mov.u32", offs[j+1], Imm(in.Offset))
		}
	}
	rest := k.Reg(B32)
	k.Op("mov.u32", rest, i)
	coord := k.Reg(B32)
	for d := len(s.Dims) - 1; d >= 0; d-- {
		if d > 0 {
			k.Op("rem.u32", coord, rest, Imm(s.Dims[d]))
			k.Op("div.u32", rest, rest, Imm(s.Dims[d]))
		} else {
			k.Op("mov.u32", coord, rest)
		}
		if s.OutStrides[d] != 0 {
			k.Op("mad.lo.s32", offs[0], coord, Imm(s.OutStrides[d]), offs[0])
		}
		for j, in := range s.Ins {
			if !in.Splat && in.Strides[d] != 0 {
				k.Op("mad.lo.s32", offs[j+1], coord, Imm(in.Strides[d]), offs[j+1])
			}
		}
	}
	if s.Elem == 8 {
		v := k.Reg(B64)
		k.Op("ld.global.nc.b64", v, Addr{k.elemAddr(xs[0], offs[1], 8), 0})
		k.Op("st.global.b64", Addr{k.elemAddr(y, offs[0], 8), 0}, v)
	} else {
		vals := make([]Reg, len(s.Ins))
		for j, in := range s.Ins {
			vals[j] = k.Reg(F32)
			if in.Splat {
				k.Op("mov.f32", vals[j], FImm(in.Value))
			} else {
				k.Op("ld.global.nc.f32", vals[j], Addr{k.elemAddr(xs[j], offs[j+1], 4), 0})
			}
		}
		r := k.Reg(F32)
		k.elementOp(s, r, vals)
		k.Op("st.global.f32", Addr{k.elemAddr(y, offs[0], 4), 0}, r)
	}
	k.Place("$Ldone")
	return k, launch, nil
}

// elementOp computes d = op(v…) as ir's evaluator defines each op.
func (k *Kernel) elementOp(s ElementwiseSpec, d Reg, v []Reg) {
	switch s.Op {
	case "fill":
		k.Op("mov.f32", d, FImm(s.Alpha))
	case "copy":
		k.Op("mov.f32", d, v[0])
	case "relu":
		k.relu(d, v[0])
	case "neg":
		k.Op("neg.f32", d, v[0])
	case "abs":
		k.Op("abs.f32", d, v[0])
	case "sqrt":
		k.Op("sqrt.rn.f32", d, v[0])
	case "exp":
		k.exp(d, v[0])
	case "log":
		k.Op("lg2.approx.f32", d, v[0])
		k.Op("mul.f32", d, d, FImm(math.Ln2))
	case "sigmoid":
		t := k.Reg(F32)
		k.Op("neg.f32", t, v[0])
		k.exp(t, t)
		k.Op("add.f32", t, t, FImm(1))
		k.Op("rcp.rn.f32", d, t)
	case "tanh":
		k.tanh(d, v[0])
	case "erf":
		k.erf(d, v[0])
	case "gelu", "gelu_tanh":
		k.Op("mov.f32", d, v[0])
		k.activation(s.Op, d)
	case "leaky_relu":
		p, t := k.Reg(Pred), k.Reg(F32)
		k.Op("mul.f32", t, v[0], FImm(s.Alpha))
		k.Op("setp.lt.f32", p, v[0], FImm(0))
		k.Op("selp.f32", d, t, v[0], p)
	case "clip":
		k.clampKeepNaN(d, v[0], s.Alpha, s.Beta)
	case "hard_sigmoid":
		k.Op("fma.rn.f32", d, v[0], FImm(s.Alpha), FImm(s.Beta))
		k.clampKeepNaN(d, d, 0, 1)
	case "reciprocal":
		k.Op("rcp.rn.f32", d, v[0])
	case "add", "sub", "mul":
		k.Op(s.Op+".f32", d, v[0], v[1])
	case "div":
		k.Op("div.rn.f32", d, v[0], v[1])
	case "max", "min":
		k.Op(s.Op+".NaN.f32", d, v[0], v[1])
	default:
		panic("ptx: element-wise op " + s.Op)
	}
}
