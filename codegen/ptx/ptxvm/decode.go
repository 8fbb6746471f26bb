package ptxvm

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// instruction kinds the scheduler treats specially
const (
	kPlain = iota
	kBranch
	kBarrier  // bar.sync: every thread of the block
	kShfl     // shfl.sync: the lanes of the member mask exchange values
	kWarpSync // bar.warp.sync: the lanes of the member mask meet
	kExit
)

type inst struct {
	text    string
	line    int
	pred    int // guard register, or -1
	predNeg bool
	kind    int
	target  int // kBranch: the pc of the label
	exec    func(t *thread)
	// kShfl and kWarpSync
	mode       string
	d, a, b, c operand
	mask       operand
}

// assemble decodes the body's instructions.
func (k *Kernel) assemble(body []string, lines []int) error {
	pc := 0
	for _, l := range body {
		if strings.HasSuffix(l, ":") {
			k.labels[strings.TrimSuffix(l, ":")] = pc
			continue
		}
		pc++
	}
	for i, l := range body {
		if strings.HasSuffix(l, ":") {
			continue
		}
		in, err := k.decode(strings.TrimSuffix(l, ";"))
		if err != nil {
			return fmt.Errorf("line %d: %q: %w", lines[i], l, err)
		}
		in.text, in.line = l, lines[i]
		k.code = append(k.code, in)
	}
	return nil
}

func (k *Kernel) decode(s string) (inst, error) {
	in := inst{pred: -1}
	if strings.HasPrefix(s, "@") {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return in, fmt.Errorf("a predicate guards no instruction")
		}
		g := s[1:sp]
		if strings.HasPrefix(g, "!") {
			in.predNeg, g = true, g[1:]
		}
		r, ok := k.regs[g]
		if !ok {
			return in, fmt.Errorf("unknown predicate %s", g)
		}
		in.pred = r
		s = strings.TrimSpace(s[sp+1:])
	}
	opc, rest, _ := strings.Cut(s, " ")
	var ops []operand
	for _, a := range splitOperands(rest) {
		o, err := k.parseOperand(a)
		if err != nil {
			return in, err
		}
		ops = append(ops, o)
	}
	mods := strings.Split(opc, ".")
	base, typ := mods[0], mods[len(mods)-1]
	has := func(m string) bool {
		for _, x := range mods[1:] {
			if x == m {
				return true
			}
		}
		return false
	}
	need := func(n int) error {
		if len(ops) != n {
			return fmt.Errorf("%s takes %d operands, got %d", opc, n, len(ops))
		}
		return nil
	}
	switch base {
	case "ret", "exit":
		in.kind = kExit
		return in, nil
	case "bra":
		if err := need(1); err != nil {
			return in, err
		}
		pc, ok := k.labels[ops[0].sym]
		if !ok {
			return in, fmt.Errorf("unknown label %s", ops[0].text)
		}
		in.kind, in.target = kBranch, pc
		return in, nil
	case "bar":
		if has("warp") {
			if err := need(1); err != nil {
				return in, err
			}
			in.kind, in.mask = kWarpSync, ops[0]
			return in, nil
		}
		if !has("sync") || len(ops) != 1 || ops[0].kind != opImm || ops[0].imm != 0 {
			return in, fmt.Errorf("only bar.sync 0 is supported")
		}
		in.kind = kBarrier
		return in, nil
	case "shfl":
		if !has("sync") || typ != "b32" {
			return in, fmt.Errorf("only shfl.sync.MODE.b32 is supported")
		}
		if err := need(5); err != nil {
			return in, err
		}
		in.kind, in.mode = kShfl, mods[2]
		in.d, in.a, in.b, in.c, in.mask = ops[0], ops[1], ops[2], ops[3], ops[4]
		if in.d.kind != opReg {
			return in, fmt.Errorf("shfl: destination must be a register")
		}
		return in, nil
	}
	exec, err := k.plain(base, mods, typ, has, ops, need)
	in.exec = exec
	return in, err
}

// width returns a type's size in bytes and whether it is signed / float.
func typeInfo(t string) (size int, signed, float bool, ok bool) {
	switch t {
	case "pred":
		return 1, false, false, true
	case "b32", "u32":
		return 4, false, false, true
	case "s32":
		return 4, true, false, true
	case "b64", "u64":
		return 8, false, false, true
	case "s64":
		return 8, true, false, true
	case "f32":
		return 4, false, true, true
	}
	return 0, false, false, false
}

func (k *Kernel) getter(o operand) (func(t *thread) uint64, error) {
	switch o.kind {
	case opReg:
		r := o.reg
		return func(t *thread) uint64 { return t.regs[r] }, nil
	case opImm:
		v := o.imm
		return func(*thread) uint64 { return v }, nil
	case opSym:
		if off, ok := k.shared[o.sym]; ok {
			return func(*thread) uint64 { return uint64(off) }, nil
		}
		switch o.sym {
		case "%tid.x":
			return func(t *thread) uint64 { return uint64(t.tid) }, nil
		case "%tid.y", "%tid.z", "%ctaid.z":
			return func(*thread) uint64 { return 0 }, nil
		case "%ntid.x":
			return func(t *thread) uint64 { return uint64(t.b.ntid) }, nil
		case "%ctaid.x":
			return func(t *thread) uint64 { return uint64(t.b.ctaid[0]) }, nil
		case "%ctaid.y":
			return func(t *thread) uint64 { return uint64(t.b.ctaid[1]) }, nil
		case "%nctaid.x":
			return func(t *thread) uint64 { return uint64(t.b.nctaid[0]) }, nil
		case "%nctaid.y":
			return func(t *thread) uint64 { return uint64(t.b.nctaid[1]) }, nil
		case "%laneid":
			return func(t *thread) uint64 { return uint64(t.tid % 32) }, nil
		}
	}
	return nil, fmt.Errorf("operand %q cannot be read", o.text)
}

func mask(size int) uint64 {
	if size >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*size) - 1
}

func sext(v uint64, size int) int64 {
	switch size {
	case 4:
		return int64(int32(uint32(v)))
	case 1:
		return int64(v & 1)
	}
	return int64(v)
}

// plain decodes an instruction that runs in one thread alone.
func (k *Kernel) plain(base string, mods []string, typ string, has func(string) bool, ops []operand, need func(int) error) (func(*thread), error) {
	size, signed, float, ok := typeInfo(typ)
	if !ok && base != "cvta" {
		return nil, fmt.Errorf("type .%s is not supported", typ)
	}
	m := mask(size)
	dst := func(o operand) (int, error) {
		if o.kind != opReg {
			return 0, fmt.Errorf("destination %q is not a register", o.text)
		}
		return o.reg, nil
	}
	srcs := func(from int) ([]func(*thread) uint64, error) {
		var gs []func(*thread) uint64
		for _, o := range ops[from:] {
			g, err := k.getter(o)
			if err != nil {
				return nil, err
			}
			gs = append(gs, g)
		}
		return gs, nil
	}
	switch base {
	case "mov", "cvta":
		if err := need(2); err != nil {
			return nil, err
		}
		d, err := dst(ops[0])
		if err != nil {
			return nil, err
		}
		g, err := k.getter(ops[1])
		if err != nil {
			return nil, err
		}
		if base == "cvta" {
			m = ^uint64(0) // to.global: the identity on this machine
		}
		return func(t *thread) { t.regs[d] = g(t) & m }, nil
	case "ld", "st":
		return k.memory(base, mods, size, ops)
	case "setp":
		if err := need(3); err != nil {
			return nil, err
		}
		d, err := dst(ops[0])
		if err != nil {
			return nil, err
		}
		gs, err := srcs(1)
		if err != nil {
			return nil, err
		}
		cmp, err := comparison(mods[1], size, signed, float)
		if err != nil {
			return nil, err
		}
		a, b := gs[0], gs[1]
		return func(t *thread) {
			if cmp(a(t), b(t)) {
				t.regs[d] = 1
			} else {
				t.regs[d] = 0
			}
		}, nil
	case "selp":
		if err := need(4); err != nil {
			return nil, err
		}
		d, err := dst(ops[0])
		if err != nil {
			return nil, err
		}
		gs, err := srcs(1)
		if err != nil {
			return nil, err
		}
		return func(t *thread) {
			if gs[2](t) != 0 {
				t.regs[d] = gs[0](t) & m
			} else {
				t.regs[d] = gs[1](t) & m
			}
		}, nil
	case "cvt":
		return k.convert(mods, ops)
	}
	// Arithmetic: d, then sources.
	if len(ops) < 2 {
		return nil, fmt.Errorf("%s: too few operands", base)
	}
	d, err := dst(ops[0])
	if err != nil {
		return nil, err
	}
	gs, err := srcs(1)
	if err != nil {
		return nil, err
	}
	if want := arity(base); len(gs) != want {
		return nil, fmt.Errorf("%s: %d sources, want %d", base, len(gs), want)
	}
	if float {
		f, err := floatOp(base, has, len(gs))
		if err != nil {
			return nil, err
		}
		switch len(gs) {
		case 1:
			a := gs[0]
			return func(t *thread) { t.regs[d] = f32bits(f(bitsf32(a(t)), 0, 0)) }, nil
		case 2:
			a, b := gs[0], gs[1]
			return func(t *thread) { t.regs[d] = f32bits(f(bitsf32(a(t)), bitsf32(b(t)), 0)) }, nil
		default:
			a, b, c := gs[0], gs[1], gs[2]
			return func(t *thread) { t.regs[d] = f32bits(f(bitsf32(a(t)), bitsf32(b(t)), bitsf32(c(t)))) }, nil
		}
	}
	if has("wide") {
		// mul.wide / mad.wide: 32-bit sources, a 64-bit product.
		if size != 4 {
			return nil, fmt.Errorf(".wide needs a 32-bit type")
		}
		ext := func(v uint64) uint64 {
			if signed {
				return uint64(sext(v, 4))
			}
			return v & 0xffffffff
		}
		switch base {
		case "mul":
			a, b := gs[0], gs[1]
			return func(t *thread) { t.regs[d] = ext(a(t)) * ext(b(t)) }, nil
		case "mad":
			a, b, c := gs[0], gs[1], gs[2]
			return func(t *thread) { t.regs[d] = ext(a(t))*ext(b(t)) + c(t) }, nil
		}
		return nil, fmt.Errorf("%s.wide is not supported", base)
	}
	f, err := intOp(base, size, signed)
	if err != nil {
		return nil, err
	}
	switch len(gs) {
	case 1:
		a := gs[0]
		return func(t *thread) { t.regs[d] = f(a(t), 0, 0) & m }, nil
	case 2:
		a, b := gs[0], gs[1]
		return func(t *thread) { t.regs[d] = f(a(t), b(t), 0) & m }, nil
	default:
		a, b, c := gs[0], gs[1], gs[2]
		return func(t *thread) { t.regs[d] = f(a(t), b(t), c(t)) & m }, nil
	}
}

// arity is an arithmetic instruction's number of sources.
func arity(base string) int {
	switch base {
	case "mov", "neg", "abs", "not", "sqrt", "rsqrt", "rcp", "ex2", "lg2", "tanh", "popc":
		return 1
	case "mad", "fma":
		return 3
	}
	return 2
}

// flush returns x with a subnormal flushed to a zero of its sign (.ftz).
func flush(x float32) float32 {
	if x != 0 && math.Abs(float64(x)) < 0x1p-126 {
		return float32(math.Copysign(0, float64(x)))
	}
	return x
}

// fmin and fmax are PTX's min.f32 and max.f32: a NaN operand yields the
// other one; −0 < +0.
func fmin(a, b float32) float32 {
	switch {
	case a != a:
		return b
	case b != b:
		return a
	case a < b || (a == b && math.Signbit(float64(a))):
		return a
	}
	return b
}

func fmax(a, b float32) float32 {
	switch {
	case a != a:
		return b
	case b != b:
		return a
	case a > b || (a == b && !math.Signbit(float64(a))):
		return a
	}
	return b
}

func floatOp(base string, has func(string) bool, n int) (func(a, b, c float32) float32, error) {
	nan := has("NaN")
	switch base {
	case "add":
		return func(a, b, _ float32) float32 { return a + b }, nil
	case "sub":
		return func(a, b, _ float32) float32 { return a - b }, nil
	case "mul":
		return func(a, b, _ float32) float32 { return a * b }, nil
	case "fma", "mad":
		return func(a, b, c float32) float32 {
			return float32(math.FMA(float64(a), float64(b), float64(c)))
		}, nil
	case "div":
		return func(a, b, _ float32) float32 { return a / b }, nil
	case "neg":
		return func(a, _, _ float32) float32 { return -a }, nil
	case "abs":
		return func(a, _, _ float32) float32 { return float32(math.Abs(float64(a))) }, nil
	case "min", "max":
		f := fmin
		if base == "max" {
			f = fmax
		}
		if nan {
			return func(a, b, _ float32) float32 {
				if a != a || b != b {
					return float32(math.NaN())
				}
				return f(a, b)
			}, nil
		}
		return func(a, b, _ float32) float32 { return f(a, b) }, nil
	case "sqrt":
		return func(a, _, _ float32) float32 { return float32(math.Sqrt(float64(a))) }, nil
	case "rsqrt":
		return func(a, _, _ float32) float32 { return float32(1 / math.Sqrt(float64(a))) }, nil
	case "rcp":
		return func(a, _, _ float32) float32 { return 1 / a }, nil
	case "ex2":
		return func(a, _, _ float32) float32 { return flush(float32(math.Exp2(float64(flush(a))))) }, nil
	case "lg2":
		return func(a, _, _ float32) float32 { return float32(math.Log2(float64(a))) }, nil
	case "tanh":
		return func(a, _, _ float32) float32 { return float32(math.Tanh(float64(a))) }, nil
	}
	return nil, fmt.Errorf("float %s is not supported", base)
}

func intOp(base string, size int, signed bool) (func(a, b, c uint64) uint64, error) {
	bitsN := uint64(8 * size)
	lt := func(a, b uint64) bool {
		if signed {
			return sext(a, size) < sext(b, size)
		}
		return a&mask(size) < b&mask(size)
	}
	switch base {
	case "add":
		return func(a, b, _ uint64) uint64 { return a + b }, nil
	case "sub":
		return func(a, b, _ uint64) uint64 { return a - b }, nil
	case "mul":
		return func(a, b, _ uint64) uint64 { return a * b }, nil
	case "mad":
		return func(a, b, c uint64) uint64 { return a*b + c }, nil
	case "neg":
		return func(a, _, _ uint64) uint64 { return -a }, nil
	case "and":
		return func(a, b, _ uint64) uint64 { return a & b }, nil
	case "or":
		return func(a, b, _ uint64) uint64 { return a | b }, nil
	case "xor":
		return func(a, b, _ uint64) uint64 { return a ^ b }, nil
	case "not":
		if size == 1 {
			return func(a, _, _ uint64) uint64 { return a ^ 1 }, nil
		}
		return func(a, _, _ uint64) uint64 { return ^a }, nil
	case "shl":
		return func(a, b, _ uint64) uint64 {
			if b&0xffffffff >= bitsN {
				return 0
			}
			return a << (b & 0xffffffff)
		}, nil
	case "shr":
		return func(a, b, _ uint64) uint64 {
			s := b & 0xffffffff
			if signed {
				if s >= bitsN {
					s = bitsN - 1
				}
				return uint64(sext(a, size) >> s)
			}
			if s >= bitsN {
				return 0
			}
			return (a & mask(size)) >> s
		}, nil
	case "min":
		return func(a, b, _ uint64) uint64 {
			if lt(b, a) {
				return b
			}
			return a
		}, nil
	case "max":
		return func(a, b, _ uint64) uint64 {
			if lt(a, b) {
				return b
			}
			return a
		}, nil
	case "div", "rem":
		rem := base == "rem"
		return func(a, b, _ uint64) uint64 {
			if b&mask(size) == 0 {
				panic(fault("integer division by zero"))
			}
			if signed {
				x, y := sext(a, size), sext(b, size)
				if rem {
					return uint64(x % y)
				}
				return uint64(x / y)
			}
			x, y := a&mask(size), b&mask(size)
			if rem {
				return x % y
			}
			return x / y
		}, nil
	case "popc":
		return func(a, _, _ uint64) uint64 { return uint64(bits.OnesCount64(a & mask(size))) }, nil
	}
	return nil, fmt.Errorf("integer %s is not supported", base)
}

func comparison(op string, size int, signed, float bool) (func(a, b uint64) bool, error) {
	if float {
		ord := func(f func(x, y float32) bool) func(a, b uint64) bool {
			return func(a, b uint64) bool {
				x, y := bitsf32(a), bitsf32(b)
				return x == x && y == y && f(x, y)
			}
		}
		unord := func(f func(x, y float32) bool) func(a, b uint64) bool {
			return func(a, b uint64) bool {
				x, y := bitsf32(a), bitsf32(b)
				return x != x || y != y || f(x, y)
			}
		}
		fs := map[string]func(x, y float32) bool{
			"eq": func(x, y float32) bool { return x == y }, "ne": func(x, y float32) bool { return x != y },
			"lt": func(x, y float32) bool { return x < y }, "le": func(x, y float32) bool { return x <= y },
			"gt": func(x, y float32) bool { return x > y }, "ge": func(x, y float32) bool { return x >= y },
		}
		if f, ok := fs[op]; ok {
			return ord(f), nil
		}
		if f, ok := fs[strings.TrimSuffix(op, "u")]; ok && strings.HasSuffix(op, "u") {
			return unord(f), nil
		}
		switch op {
		case "num":
			return func(a, b uint64) bool { x, y := bitsf32(a), bitsf32(b); return x == x && y == y }, nil
		case "nan":
			return func(a, b uint64) bool { x, y := bitsf32(a), bitsf32(b); return x != x || y != y }, nil
		}
		return nil, fmt.Errorf("float comparison %s is not supported", op)
	}
	m := mask(size)
	s := func(v uint64) int64 { return sext(v, size) }
	u := func(v uint64) uint64 { return v & m }
	switch op {
	case "eq":
		return func(a, b uint64) bool { return u(a) == u(b) }, nil
	case "ne":
		return func(a, b uint64) bool { return u(a) != u(b) }, nil
	case "lo":
		return func(a, b uint64) bool { return u(a) < u(b) }, nil
	case "ls":
		return func(a, b uint64) bool { return u(a) <= u(b) }, nil
	case "hi":
		return func(a, b uint64) bool { return u(a) > u(b) }, nil
	case "hs":
		return func(a, b uint64) bool { return u(a) >= u(b) }, nil
	}
	if signed {
		switch op {
		case "lt":
			return func(a, b uint64) bool { return s(a) < s(b) }, nil
		case "le":
			return func(a, b uint64) bool { return s(a) <= s(b) }, nil
		case "gt":
			return func(a, b uint64) bool { return s(a) > s(b) }, nil
		case "ge":
			return func(a, b uint64) bool { return s(a) >= s(b) }, nil
		}
	} else {
		switch op {
		case "lt":
			return func(a, b uint64) bool { return u(a) < u(b) }, nil
		case "le":
			return func(a, b uint64) bool { return u(a) <= u(b) }, nil
		case "gt":
			return func(a, b uint64) bool { return u(a) > u(b) }, nil
		case "ge":
			return func(a, b uint64) bool { return u(a) >= u(b) }, nil
		}
	}
	return nil, fmt.Errorf("comparison %s is not supported", op)
}

// convert decodes cvt[.rnd][.sat].dtype.stype.
func (k *Kernel) convert(mods []string, ops []operand) (func(*thread), error) {
	if len(ops) != 2 || ops[0].kind != opReg {
		return nil, fmt.Errorf("cvt takes a register and a source")
	}
	dt, st := mods[len(mods)-2], mods[len(mods)-1]
	dsize, dsigned, dfloat, ok1 := typeInfo(dt)
	ssize, ssigned, sfloat, ok2 := typeInfo(st)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cvt.%s.%s is not supported", dt, st)
	}
	d := ops[0].reg
	g, err := k.getter(ops[1])
	if err != nil {
		return nil, err
	}
	switch {
	case dfloat && !sfloat:
		return func(t *thread) {
			v := g(t)
			if ssigned {
				t.regs[d] = f32bits(float32(sext(v, ssize)))
			} else {
				t.regs[d] = f32bits(float32(v & mask(ssize)))
			}
		}, nil
	case !dfloat && sfloat:
		// .rzi: toward zero; NaN converts to 0.
		return func(t *thread) {
			f := float64(bitsf32(g(t)))
			if f != f {
				t.regs[d] = 0
				return
			}
			f = math.Trunc(f)
			if dsigned {
				lim := math.Ldexp(1, 8*dsize-1)
				f = math.Max(-lim, math.Min(lim-1, f))
				t.regs[d] = uint64(int64(f)) & mask(dsize)
			} else {
				f = math.Max(0, math.Min(math.Ldexp(1, 8*dsize)-1, f))
				t.regs[d] = uint64(f) & mask(dsize)
			}
		}, nil
	case !dfloat && !sfloat:
		return func(t *thread) {
			v := g(t)
			if ssigned {
				v = uint64(sext(v, ssize))
			} else {
				v &= mask(ssize)
			}
			t.regs[d] = v & mask(dsize)
		}, nil
	}
	return func(t *thread) { t.regs[d] = g(t) }, nil
}

// memory decodes ld and st in the global, shared and param spaces.
func (k *Kernel) memory(base string, mods []string, size int, ops []operand) (func(*thread), error) {
	if len(ops) != 2 {
		return nil, fmt.Errorf("%s takes two operands", base)
	}
	space, vec := "", 1
	for _, m := range mods[1 : len(mods)-1] {
		switch m {
		case "global", "shared", "param":
			space = m
		case "v2":
			vec = 2
		case "v4":
			vec = 4
		case "nc", "ca", "cg", "cs":
		default:
			return nil, fmt.Errorf("%s modifier .%s is not supported", base, m)
		}
	}
	if space == "" {
		return nil, fmt.Errorf("%s needs a state space", base)
	}
	addrOp, valOp := ops[1], ops[0]
	if base == "st" {
		addrOp, valOp = ops[0], ops[1]
	}
	if addrOp.kind != opMem {
		return nil, fmt.Errorf("%s: %q is not an address", base, addrOp.text)
	}
	var regs []int
	switch valOp.kind {
	case opReg:
		regs = []int{valOp.reg}
	case opVec:
		regs = valOp.vec
	}
	var imm func(*thread) uint64
	if base == "st" && valOp.kind == opImm {
		imm, _ = k.getter(valOp)
		regs = []int{-1}
	}
	if len(regs) != vec {
		return nil, fmt.Errorf("%s: %d values for a .v%d access", base, len(regs), vec)
	}
	n := size * vec
	// The address's resolver returns the bytes accessed.
	var at func(t *thread) []byte
	off := addrOp.imm
	switch space {
	case "param":
		var p *param
		for i := range k.Params {
			if k.Params[i].name == addrOp.sym {
				p = &k.Params[i]
			}
		}
		if p == nil || base == "st" {
			return nil, fmt.Errorf("unknown parameter %q", addrOp.sym)
		}
		po := p.off + int(off)
		at = func(t *thread) []byte { return t.b.params[po : po+n] }
	case "shared":
		var baseOf func(t *thread) uint64
		if addrOp.baseReg {
			r := addrOp.reg
			baseOf = func(t *thread) uint64 { return t.regs[r] & 0xffffffff }
		} else if so, ok := k.shared[addrOp.sym]; ok {
			baseOf = func(*thread) uint64 { return uint64(so) }
		} else {
			return nil, fmt.Errorf("unknown shared array %q", addrOp.sym)
		}
		at = func(t *thread) []byte {
			a := (baseOf(t) + off) & 0xffffffff
			if a%uint64(min(n, 16)) != 0 {
				panic(fault(fmt.Sprintf("misaligned %d-byte shared access at %#x", n, a)))
			}
			if a+uint64(n) > uint64(len(t.b.shared)) {
				panic(fault(fmt.Sprintf("shared access of %d bytes at %#x is past the block's %d bytes", n, a, len(t.b.shared))))
			}
			return t.b.shared[a : a+uint64(n)]
		}
	case "global":
		if !addrOp.baseReg {
			return nil, fmt.Errorf("global address must be a register")
		}
		r := addrOp.reg
		at = func(t *thread) []byte {
			a := t.regs[r] + off
			if a%uint64(min(n, 16)) != 0 {
				panic(fault(fmt.Sprintf("misaligned %d-byte global access at %#x", n, a)))
			}
			b, err := t.b.mem.Bytes(a, n)
			if err != nil {
				panic(fault(err.Error()))
			}
			return b
		}
	}
	if base == "ld" {
		return func(t *thread) {
			b := at(t)
			for i, r := range regs {
				if size == 8 {
					t.regs[r] = binary.LittleEndian.Uint64(b[8*i:])
				} else {
					t.regs[r] = uint64(binary.LittleEndian.Uint32(b[4*i:]))
				}
			}
		}, nil
	}
	return func(t *thread) {
		b := at(t)
		for i, r := range regs {
			var v uint64
			if r < 0 {
				v = imm(t)
			} else {
				v = t.regs[r]
			}
			if size == 8 {
				binary.LittleEndian.PutUint64(b[8*i:], v)
			} else {
				binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
			}
		}
	}, nil
}
