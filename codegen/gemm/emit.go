package gemm

import (
	"fmt"
	"go/format"
	"strings"
)

// Emit returns the Go source of the kernel funcName for p, followed by the
// tile functions it calls (funcName_RxL: R rows of x by one column block,
// over a K chunk of length L):
//
//	func funcName(m, lo, hi int, y, x, wp, bias []float32)
//
// computes column blocks [lo, hi) (NR columns each, p.Blocks() in all) of
// y[m×N] = x[m×K]·Wᵀ (+ bias), with wp = Pack(p, W), for any m ≥ 0;
// without p.Bias the bias argument is not read. Buffers shorter than the
// shapes need make it panic. The source is gofmt'd, imports nothing and
// allocates nothing. Emit panics if p is invalid (see Params.Validate).
func Emit(p Params, funcName string) string {
	p.mustValidate()
	e := &emitter{p: p, name: funcName}
	e.main()
	for _, c := range e.chunks() {
		for r := p.MR; r >= 1; r-- {
			e.tile(r, c.len)
		}
	}
	src, err := format.Source([]byte(e.b.String()))
	if err != nil {
		panic(fmt.Sprintf("BUG: gemm.Emit(%+v): invalid Go: %v\n%s", p, err, e.b.String()))
	}
	return string(src)
}

type emitter struct {
	p    Params
	name string
	b    strings.Builder
}

// f writes one line.
func (e *emitter) f(format string, args ...any) {
	fmt.Fprintf(&e.b, format, args...)
	e.b.WriteByte('\n')
}

// chunk is a run of n equal K chunks of length len, the first at k0.
type chunk struct{ k0, n, len int }

// chunks splits K into full chunks and a shorter tail chunk, if any.
func (e *emitter) chunks() []chunk {
	K, L := e.p.K, e.p.chunk()
	cs := []chunk{{0, K / L, L}}
	if r := K % L; r != 0 {
		cs = append(cs, chunk{K - r, 1, r})
	}
	return cs
}

func (e *emitter) tileName(r, l int) string { return fmt.Sprintf("%s_%dx%d", e.name, r, l) }

// main emits the entry function: checks, then column blocks, K chunks and
// row tiles, outermost first, so that a block's panel chunk (L×NR floats)
// stays in L1 while every row tile of x passes it.
func (e *emitter) main() {
	p := e.p
	bias, unread := "", " bias is not read."
	if p.Bias {
		bias, unread = " + bias", ""
	}
	e.f("// %s computes column blocks [lo, hi) (%d columns each, %d in all) of", e.name, p.NR, p.Blocks())
	e.f("// y[m×%d] = x[m×%d]·Wᵀ%s, with wp = gemm.Pack(W) for %s.%s", p.N, p.K, bias, p.Name(), unread)
	e.f("func %s(m, lo, hi int, y, x, wp, bias []float32) {", e.name)
	e.f("const N, K, NR, MR, PW = %d, %d, %d, %d, %d", p.N, p.K, p.NR, p.MR, p.Panel())
	e.f("if m <= 0 || lo >= hi {")
	e.f("return")
	e.f("}")
	check := "lo < 0 || len(y) < m*N || len(x) < m*K || len(wp) < ((hi-1)*NR/PW+1)*K*PW"
	if p.Bias {
		check += " || len(bias) < N"
	}
	e.f("if %s {", check)
	e.f("panic(%q)", e.name+": buffer too short")
	e.f("}")
	e.f("for jb := lo; jb < hi; jb++ {")
	if p.Panel() == p.NR {
		e.f("j0, w := jb*NR, wp[jb*K*NR:(jb+1)*K*NR]")
	} else {
		e.f("j0 := jb*NR")
		e.f("w := wp[j0/PW*K*PW+j0%%PW : (j0/PW+1)*K*PW]")
	}
	for _, c := range e.chunks() {
		if c.n > 1 {
			e.f("for k0 := %d; k0 < %d; k0 += %d {", c.k0, c.k0+c.n*c.len, c.len)
			e.f("wc, acc := w[k0*PW:], k0 > 0")
		} else {
			e.f("{")
			e.f("const k0 = %d", c.k0)
			e.f("wc, acc := w[k0*PW:], %v", c.k0 > 0)
		}
		e.f("i := 0")
		e.f("for ; i <= m-MR; i += MR {")
		e.f("%s(y[i*N:], x[i*K+k0:], wc, bias, j0, acc)", e.tileName(p.MR, c.len))
		e.f("}")
		if p.MR > 1 {
			e.f("switch m - i {")
			for r := 1; r < p.MR; r++ {
				e.f("case %d:", r)
				e.f("%s(y[i*N:], x[i*K+k0:], wc, bias, j0, acc)", e.tileName(r, c.len))
			}
			e.f("}")
		}
		e.f("}")
	}
	e.f("}")
	e.f("}")
	e.f("")
}

// tile emits funcName_RxL: an R×NR block of y (rows at stride N, columns
// from j0) from R rows of x (stride K, from the chunk's start) and the
// chunk's L×NR floats of a panel. With acc it adds to y; else it stores,
// plus the bias.
//
// The K loop tests at its bottom, so that it is one basic block: in a
// top-tested loop the accumulators' phis sit in another block, and the
// compiler's scheduler then sinks every update below every multiply of
// the iteration, with MR·NR products live at once — spilled. Its index is
// reduced modulo the trip count (an AND for powers of two, a multiply
// otherwise), which proves every index in range without a branch, so no
// bounds check is left in the loop. Each update is c -= x·(−w): SUBSS,
// not being commutative, leaves its result in the accumulator's register,
// where an ADDSS, whose operands the compiler may swap, lands it in the
// product's and costs a move per accumulator per iteration.
func (e *emitter) tile(r, L int) {
	p := e.p
	NR, U := p.NR, min(p.unroll(), L)
	e.f("// %s computes a %d×%d tile of %s over a K chunk of %d.", e.tileName(r, L), r, NR, e.name, L)
	e.f("func %s(y, x, w, bias []float32, j0 int, acc bool) {", e.tileName(r, L))
	e.f("const N, K, NR, L, PW = %d, %d, %d, %d, %d", p.N, p.K, p.NR, L, p.Panel())
	e.f("x, w = x[:%sL], w[:(L-1)*PW+NR]", rowOff(r-1, "K"))
	var cs []string
	for i := range r {
		for j := range NR {
			cs = append(cs, acc(i, j))
		}
	}
	e.f("var %s float32", strings.Join(cs, ", "))
	// L/U iterations of U steps, then L%U steps.
	switch n := L / U; {
	case n == 1:
		e.f("{")
		e.f("const kk = 0")
	case U == 1:
		e.f("for k := 0; ; {")
		e.f("kk := uint(k) %% L")
	default:
		e.f("for k := 0; ; {")
		e.f("kk := uint(k) %% %d * %d", n, U)
	}
	e.steps(r, U, "kk")
	if L/U > 1 {
		e.f("k++")
		e.f("if k == %d {", L/U)
		e.f("break")
		e.f("}")
	}
	e.f("}")
	if t := L % U; t > 0 {
		e.f("{")
		e.f("const kk = %d", L-t)
		e.steps(r, t, "kk")
		e.f("}")
	}
	e.store(r, cs)
	e.f("}")
	e.f("")
}

// steps emits u steps of the K loop from index kk (a uint, with
// kk+u ≤ L): per step and row, one element of x times NR of the panel.
func (e *emitter) steps(r, u int, kk string) {
	NR := e.p.NR
	if NR > 1 {
		e.f("b := w[%[1]s*PW : %[1]s*PW+%[2]d]", kk, (u-1)*e.p.Panel()+NR)
	}
	for s := range u {
		ks, op := kk, ":="
		if s > 0 {
			ks, op = fmt.Sprintf("%s+%d", kk, s), "="
		}
		for i := range r {
			e.f("a%d %s x[%s%s]", i, op, rowOff(i, "K"), ks)
			for j := range NR {
				if NR > 1 {
					e.f("%s -= a%d * b[%d]", acc(i, j), i, s*e.p.Panel()+j)
				} else {
					e.f("%s -= a%d * w[(%s)*PW]", acc(i, j), i, ks)
				}
			}
		}
	}
}

// store emits the write of the accumulators cs (r rows of NR) to y: whole
// blocks, then — only when N % NR != 0 — the last, partial block.
func (e *emitter) store(r int, cs []string) {
	p := e.p
	NR := p.NR
	partial := p.N%NR != 0
	if partial {
		e.f("if j0+NR <= N {")
	}
	e.f("if acc {")
	for i := range r {
		e.f("y%d := y[%[2]sj0 : %[2]sj0+NR]", i, rowOff(i, "N"))
		for j := range NR {
			e.f("y%d[%d] += %s", i, j, acc(i, j))
		}
	}
	e.f("} else {")
	if p.Bias {
		e.f("bb := bias[j0 : j0+NR]")
	}
	for i := range r {
		e.f("y%d := y[%[2]sj0 : %[2]sj0+NR]", i, rowOff(i, "N"))
		for j := range NR {
			if p.Bias {
				e.f("y%d[%d] = %s + bb[%d]", i, j, acc(i, j), j)
			} else {
				e.f("y%d[%d] = %s", i, j, acc(i, j))
			}
		}
	}
	e.f("}")
	if !partial {
		return
	}
	e.f("return")
	e.f("}")
	e.f("t := [%d][NR]float32{", r)
	for i := range r {
		e.f("{%s},", strings.Join(cs[i*NR:(i+1)*NR], ", "))
	}
	e.f("}")
	e.f("for i := range t {")
	e.f("yi := y[i*N+j0 : i*N+N]")
	e.f("for j := range yi {")
	e.f("if acc {")
	e.f("yi[j] += t[i][j]")
	e.f("} else {")
	if p.Bias {
		e.f("yi[j] = t[i][j] + bias[j0+j]")
	} else {
		e.f("yi[j] = t[i][j]")
	}
	e.f("}")
	e.f("}")
	e.f("}")
}

// acc names the accumulator of row i, column j of a tile.
func acc(i, j int) string { return fmt.Sprintf("c%d_%d", i, j) }

// rowOff returns the offset of row i of a matrix with rows of the given
// stride, as the first term of a sum: "", "K+", "2*K+" ….
func rowOff(i int, stride string) string {
	switch i {
	case 0:
		return ""
	case 1:
		return stride + "+"
	}
	return fmt.Sprintf("%d*%s+", i, stride)
}
