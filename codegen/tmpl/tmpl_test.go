package tmpl

import (
	"go/format"
	"math"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/ir"
)

// src is a template package for the engine's tests: one template per
// rewrite (its shape types are declared here too, as a template package
// declares them).
const src = `package k

import (
	"fmt"
	"math"
)

type VShape struct {
	I     int
	Eps   float64
	Neg   float64
	One   float64
	Inf   float64
	Beta  bool
	Name  string
	Sizes []int
	Rows  ir.Dim
	Fixed ir.Dim
}

func Values(s VShape, n int, y, x []float32) {
	I, Eps, rows := s.I, s.Eps, s.Rows.At(n)
	fixed := s.Fixed.At(n)
	half := I / 2
	y[0] = float32(Eps + s.Neg + s.One + s.Inf)
	y[1] = float32(len(s.Name) + s.Sizes[1] + half + rows + fixed)
	if s.Beta {
		y[2] = x[I-1]
	} else {
		y[2] = 0
	}
	if !s.Beta && I > 2 {
		y[3] = 1
	}
	switch s.Name {
	case "a":
		y[4] = 1
	case "b":
		y[4] = 2
	default:
		y[4] = 3
	}
	sizes := s.Sizes
	y[5] = float32(sizes[0])
}

type PShape struct{ Bias, Beta bool }

// Prune: the branches on constants go, with the variables only they used.
func Prune(s PShape, n int, y, x, bias []float32) {
	var b []float32
	if s.Bias {
		b = bias[:n]
	}
	g := x[:n]
	for i := range y[:n] {
		v := g[i]
		if s.Bias {
			v += b[i]
		}
		y[i] = v
	}
	if s.Bias && s.Beta {
		k := 1
		y[0] += float32(k)
	} else {
		k := 2
		y[0] -= float32(k)
	}
	k := 3
	y[1] = float32(k)
}

func Unused(s PShape, n int, y []float32) {
	v := f()
	if s.Bias {
		y[0] = v
	}
}

func f() float32 { return 1 }

func OmitBad(s PShape, n int, y, bias []float32) {
	if s.Bias {
		y[0] = bias[0]
	}
	y[1] = bias[1]
}

func OmitCall(s PShape, n int, y, bias []float32) {
	g(y, bias)
}

func g(y, b []float32) {}

type HShape struct {
	Act  func(float32) float32
	Op   func(a, b float64) float64
	Gemm func(m int, y []float32)
	Tile func(r int, a *float32)
}

func Hooks(s HShape, n int, y, x []float32) {
	for i, v := range x[:n] {
		y[i] = s.Act(v)
		y[i] += float32(s.Op(float64(v), float64(y[i])))
	}
	s.Gemm(n, y)
	s.Tile(n%4, &y[0])
}

type TShape struct {
	Tab  []int64
	Skip bool
}

func Tables(s TShape, n int, y []int64) {
	for i := range y[:len(s.Tab)] {
		y[i] = s.Tab[i] + s.Tab[0]
	}
	if s.Skip {
		y[0] = 0
	}
}

func Twice(s HShape, n int, y, x []float32) {
	y[0] = s.Act(x[0] + 1)
}

func Relu32(v float32) float32 { return max(v, 0) }

func Leaky(x, alpha float32) float32 { return x * (1 + alpha*x) }

func Pow(a, b float64) float64 { return math.Pow(a, b) }

type DShape struct {
	K LNKernel
	E EWKernel
	G GKernel
}

type LNKernel func(lo, hi int, y []float32)

func (k LNKernel) Run(lo, hi int, y []float32) bool { return false }

type EWKernel func(y []float32) int

func (k EWKernel) Run(y []float32) int { return 0 }

type GKernel func(y, resid []float32)

func (k GKernel) Run(y, resid []float32) bool { return false }
func (k GKernel) GoEpi() bool                 { return true }

func Dispatch(s DShape, n, lo, hi int, y, resid []float32) {
	done := s.E.Run(y)
	for i := done; i < len(y); i++ {
		y[i] = 0
	}
	if !s.G.Run(y, resid) {
		y[0] = 1
	}
	if s.G.GoEpi() {
		y[1] = 2
	}
	if s.K.Run(lo, hi, y) {
		return
	}
	y[2] = 3
}

type NShape struct {
	L, M tmpl.Nest
}

func Nests(s NShape, n int, y, a, b []float32) {
	o := 0
	for p := range s.L.Each(n, 0, 1) {
		var acc float32
		for q := range s.M.Each(n, p[0]) {
			acc += a[q[0]]
		}
		y[o] = acc + b[p[1]]
		o++
	}
}

type GShape struct{ Sizes []int }

func Groups[T any](s GShape, n int, y []T, xs [][]T) {
	at := 0
	for i, x := range xs {
		w := s.Sizes[i]
		copy(y[at:at+w], x[:w])
		at += w
	}
	_ = len(xs)
	_ = xs[1]
}

type AShape struct{ S int }

func Arrays(s AShape, n, lo, hi int, y []float64) {
	S := s.S
	row := make([]float64, S)
	for i := lo; i < hi; i++ {
		row[i%S] += y[i]
	}
	y[0] = row[0]
}

type eArgs struct {
	a, b int
}

func (e *eArgs) sum() int { return e.a + e.b + helperConst }

const helperConst = 2

type FShape struct {
	Name  string
	Resid bool
	S     int
}

// Finish: a shape string folds into a literal; a buffer made only with a
// flag is a stack array, or nil without it; the result may be any type.
func Finish(sh FShape, m int, y, resid []float32) int {
	if m > len(y) {
		panic(sh.Name + ": buffer too short")
	}
	var buf []float32
	if sh.Resid {
		buf = make([]float32, sh.S)
	}
	var res []float32
	if sh.Resid {
		res = resid
	}
	g(buf, res)
	return len(buf)
}

func Helpers(s AShape, n int, y []float32) error {
	a := eArgs{a: 1}
	if a.sum() > s.S {
		return fmt.Errorf("too big: %d", a.sum())
	}
	return nil
}
`

// The shapes of src, as the generator builds them.
type (
	VShape struct {
		I     int
		Eps   float64
		Neg   float64
		One   float64
		Inf   float64
		Beta  bool
		Name  string
		Sizes []int
		Rows  ir.Dim
		Fixed ir.Dim
	}
	PShape struct{ Bias, Beta bool }
	HShape struct{ Act, Op, Gemm, Tile any }
	TShape struct {
		Tab  []int64
		Skip bool
	}
	DShape struct{ K, E, G any }
	NShape struct{ L, M Nest }
	GShape struct{ Sizes []int }
	AShape struct{ S int }
	FShape struct {
		Name  string
		Resid bool
		S     int
	}
)

func set(t *testing.T) *Set {
	t.Helper()
	// The test package names ir and tmpl but never builds: only parsed.
	s, err := Load(fstest.MapFS{"k.go": {Data: []byte(src)}, "k_test.go": {Data: []byte("package k\nfunc broken(")}})
	require.NoError(t, err)
	return s
}

// body instantiates name and returns its body, gofmt'd as a function.
func body(t *testing.T, s *Set, name string, b Binding) string {
	t.Helper()
	f, err := s.Instantiate(name, b)
	require.NoError(t, err)
	out, err := format.Source([]byte("func kernel" + f.Signature() + " {\n" + f.Body + "}\n"))
	require.NoError(t, err, f.Body)
	return string(out)
}

func TestValues(t *testing.T) {
	s := set(t)
	got := body(t, s, "Values", Binding{Shape: VShape{I: 48, Eps: 1e-5, Neg: -2, One: 1, Inf: math.Inf(-1), Beta: true, Name: "b",
		Sizes: []int{4, 5}, Rows: ir.Dim{A: 2, B: 1}, Fixed: ir.D(7)}})
	require.Equal(t, `func kernel(n int, y, x []float32) {
	const I int = 48
	const Eps = 1e-05
	rows := 2*n + 1
	const fixed int = 7
	const half int = I / 2
	y[0] = float32(Eps + -2.0 + 1.0 + math.Inf(-1))
	y[1] = float32(len("b") + 5 + half + rows + fixed)
	y[2] = x[I-1]
	y[4] = 2
	sizes := [...]int{4, 5}
	y[5] = float32(sizes[0])
}
`, got)
	got = body(t, s, "Values", Binding{Shape: VShape{I: 3, Sizes: []int{1, 2}, Rows: ir.N}})
	require.Contains(t, got, "y[2] = 0\n\ty[3] = 1\n\ty[4] = 3\n")
	require.Contains(t, got, "rows := n\n")
	// The least int is a literal too (its magnitude is no int).
	got = body(t, s, "Values", Binding{Shape: VShape{I: 3, Sizes: []int{math.MinInt64, -3}, Rows: ir.N}})
	require.Contains(t, got, "sizes := [...]int{-9223372036854775808, -3}\n")
}

func TestPrune(t *testing.T) {
	s := set(t)
	got := body(t, s, "Prune", Binding{Shape: PShape{Bias: true, Beta: true}})
	require.Equal(t, `func kernel(n int, y, x, bias []float32) {
	var b []float32 = bias[:n]
	g := x[:n]
	for i := range y[:n] {
		v := g[i]
		v += b[i]
		y[i] = v
	}
	{
		k := 1
		y[0] += float32(k)
	}
	k := 3
	y[1] = float32(k)
}
`, got)
	// Without the bias, b and its assignment go, and the parameter is
	// not the kernel's.
	got = body(t, s, "Prune", Binding{Shape: PShape{}, Omit: []string{"bias"}})
	require.Equal(t, `func kernel(n int, y, x []float32) {
	g := x[:n]
	for i := range y[:n] {
		v := g[i]
		y[i] = v
	}
	{
		k := 2
		y[0] -= float32(k)
	}
	k := 3
	y[1] = float32(k)
}
`, got)
}

func TestErrors(t *testing.T) {
	s := set(t)
	for _, c := range []struct {
		name string
		b    Binding
		want string
	}{
		{"Nope", Binding{}, "template k.Nope does not exist"},
		{"Prune", Binding{Shape: VShape{}}, "the shape is PShape, bound to a tmpl.VShape"},
		{"Prune", Binding{Shape: PShape{}, Omit: []string{"zz"}}, "omitted parameter zz does not exist"},
		{"Unused", Binding{Shape: PShape{}}, "v is declared and not used once specialised"},
		{"OmitBad", Binding{Shape: PShape{}, Omit: []string{"bias"}}, "uses the omitted parameter bias other than as a call argument"},
		{"Values", Binding{Shape: VShape{Sizes: []int{1}}}, "s.Sizes[1] is out of range"},
		{"Hooks", Binding{Shape: HShape{}}, "s.Act is a hook: bind it in Binding.Hooks"},
		{"Twice", Binding{Shape: HShape{}, Hooks: map[string]Hook{"Act": Inline{Func: "Leaky", Args: []any{float32(0.5)}}}}, "Leaky uses x 2 times, so its argument must be a name or literal, not x[0] + 1"},
		{"Groups", Binding{Shape: GShape{}, Types: map[string]string{"T": "int64"}}, "needs a group size"},
		{"Groups", Binding{Shape: GShape{Sizes: []int{1, 2}}, Groups: map[string]int{"xs": 2}}, "type parameter T is not bound"},
		{"Dispatch", Binding{Shape: DShape{}, Hooks: map[string]Hook{"Zz": Call{}}}, "hook Zz is not a field of DShape"},
	} {
		_, err := s.Instantiate(c.name, c.b)
		require.Error(t, err, c.name)
		require.Contains(t, err.Error(), c.want)
		require.True(t, strings.HasPrefix(err.Error(), "BUG: template k."), err.Error())
	}
}

func TestOmittedArgument(t *testing.T) {
	got := body(t, set(t), "OmitCall", Binding{Shape: PShape{}, Omit: []string{"bias"}})
	require.Contains(t, got, "g(y, nil)")
}

func TestHooks(t *testing.T) {
	s := set(t)
	got := body(t, s, "Hooks", Binding{Shape: HShape{}, Hooks: map[string]Hook{
		"Act":  Inline{Func: "Leaky", Args: []any{0.25}},
		"Op":   Inline{Func: "Pow"},
		"Gemm": Call{Func: "sgemm_k4"},
		"Tile": Table{Funcs: map[int]string{3: "tile3", 1: "tile1"}},
	}})
	require.Equal(t, `func kernel(n int, y, x []float32) {
	for i, v := range x[:n] {
		y[i] = v * (1 + 0.25*v)
		y[i] += float32(math.Pow(float64(v), float64(y[i])))
	}
	sgemm_k4(n, y)
	switch n % 4 {
	case 1:
		tile1(&y[0])
	case 3:
		tile3(&y[0])
	}
}
`, got)
	got = body(t, s, "Hooks", Binding{Shape: HShape{}, Hooks: map[string]Hook{
		"Act": Inline{Func: "Relu32"}, "Op": Inline{Func: "Pow"}, "Gemm": Call{Func: "g"}, "Tile": Table{Funcs: map[int]string{4: "tile4"}},
	}})
	require.Contains(t, got, "y[i] = max(v, 0)\n")
	require.Contains(t, got, "\ttile4(&y[0])\n")
}

// TestVar: a Var hook names the generated package's table wherever the
// template reads the shape's slice, constant indices included.
func TestVar(t *testing.T) {
	got := body(t, set(t), "Tables", Binding{Shape: TShape{Tab: []int64{1, 2}}, Hooks: map[string]Hook{"Tab": Var{Name: "qtab_1"}}})
	require.Equal(t, `func kernel(n int, y []int64) {
	for i := range y[:len(qtab_1)] {
		y[i] = qtab_1[i] + qtab_1[0]
	}
}
`, got)
	got = body(t, set(t), "Tables", Binding{Shape: TShape{Tab: []int64{1, 2}}})
	require.Contains(t, got, "y[i] = [...]int64{1, 2}[i] + 1\n")
}

func TestDispatch(t *testing.T) {
	s := set(t)
	cases := func(name string) []Case {
		return []Case{{Cond: "wide", Func: name + "_wide"}, {Cond: "narrow", Func: name + "_narrow", Nil: []int{1}, GoEpi: true}}
	}
	ln := []Case{{Cond: "wide", Func: "ln_wide"}, {Cond: "narrow", Func: "ln_narrow", Nil: []int{2}}}
	got := body(t, s, "Dispatch", Binding{Shape: DShape{}, Hooks: map[string]Hook{
		"K": Dispatch{Cases: ln}, "E": Dispatch{Cases: cases("ew")[:1]}, "G": Dispatch{Cases: cases("gemm")},
	}})
	require.Equal(t, `func kernel(n, lo, hi int, y, resid []float32) {
	done := 0
	switch {
	case wide:
		done = ew_wide(y)
	}
	for i := done; i < len(y); i++ {
		y[i] = 0
	}
	switch {
	case wide:
		gemm_wide(y, resid)
	case narrow:
		gemm_narrow(y, nil)
		y[1] = 2
	default:
		y[0] = 1
		y[1] = 2
	}
	switch {
	case wide:
		ln_wide(lo, hi, y)
		return
	case narrow:
		ln_narrow(lo, hi, nil)
		return
	}
	y[2] = 3
}
`, got)
	// No kernels: the Go code alone.
	got = body(t, s, "Dispatch", Binding{Shape: DShape{}, Hooks: map[string]Hook{"K": Dispatch{}, "E": Dispatch{}, "G": Dispatch{}}})
	require.Equal(t, `func kernel(n, lo, hi int, y, resid []float32) {
	done := 0
	for i := done; i < len(y); i++ {
		y[i] = 0
	}
	y[0] = 1
	y[1] = 2
	y[2] = 3
}
`, got)
}

func TestNests(t *testing.T) {
	s := set(t)
	l := Nest{Dims: []ir.Dim{ir.N, ir.D(3)}, Steps: [][]ir.Dim{{ir.D(3), ir.D(1)}, {ir.D(0), ir.D(1)}}}
	m := Nest{Dims: []ir.Dim{ir.D(2)}, Steps: [][]ir.Dim{{ir.D(5)}}}
	got := body(t, s, "Nests", Binding{Shape: NShape{L: l, M: m}})
	require.Equal(t, `func kernel(n int, y, a, b []float32) {
	o := 0
	for pd0, p0_0, p1_0 := 0, 0, 1; pd0 < n; pd0, p0_0, p1_0 = pd0+1, p0_0+3, p1_0+0 {
		for pd1, p0_1, p1_1 := 0, p0_0, p1_0; pd1 < 3; pd1, p0_1, p1_1 = pd1+1, p0_1+1, p1_1+1 {
			var acc float32
			for qd0, q0_0 := 0, p0_1; qd0 < 2; qd0, q0_0 = qd0+1, q0_0+5 {
				acc += a[q0_0]
			}
			y[o] = acc + b[p1_1]
			o++
		}
	}
}
`, got)
	// Rank 0: the body once, on the bases.
	got = body(t, s, "Nests", Binding{Shape: NShape{L: Nest{Steps: [][]ir.Dim{{}, {}}}, M: Nest{Steps: [][]ir.Dim{{}}}}})
	require.Equal(t, `func kernel(n int, y, a, b []float32) {
	o := 0
	{
		var acc float32
		{
			acc += a[0]
		}
		y[o] = acc + b[1]
		o++
	}
}
`, got)
}

// TestNestEach: Each visits the nest's offsets in row-major order.
func TestNestEach(t *testing.T) {
	l := Nest{Dims: []ir.Dim{ir.N, ir.D(3)}, Steps: [][]ir.Dim{{ir.D(3), ir.D(1)}, {ir.D(0), ir.Dim{A: 1}}}}
	var got [][2]int
	for p := range l.Each(2, 10, 0) {
		got = append(got, [2]int{p[0], p[1]})
	}
	require.Equal(t, [][2]int{{10, 0}, {11, 2}, {12, 4}, {13, 0}, {14, 2}, {15, 4}}, got)
	n := 0
	for range (Nest{Dims: []ir.Dim{ir.D(0)}, Steps: [][]ir.Dim{{ir.D(1)}}}).Each(1, 0) {
		n++
	}
	require.Zero(t, n)
	for range (Nest{Steps: [][]ir.Dim{{}}}).Each(1, 0) {
		n++
	}
	require.Equal(t, 1, n)
}

func TestGroups(t *testing.T) {
	f, err := set(t).Instantiate("Groups", Binding{Shape: GShape{Sizes: []int{2, 3}}, Types: map[string]string{"T": "int64"}, Groups: map[string]int{"xs": 2}})
	require.NoError(t, err)
	require.Equal(t, []Param{{"n", "int"}, {"y", "[]int64"}, {"xs0", "[]int64"}, {"xs1", "[]int64"}}, f.Params)
	got := body(t, set(t), "Groups", Binding{Shape: GShape{Sizes: []int{2, 3}}, Types: map[string]string{"T": "int64"}, Groups: map[string]int{"xs": 2}})
	require.Equal(t, `func kernel(n int, y, xs0, xs1 []int64) {
	at := 0
	{
		const w int = 2
		copy(y[at:at+w], xs0[:w])
		at += w
	}
	{
		const w int = 3
		copy(y[at:at+w], xs1[:w])
		at += w
	}
	_ = 2
	_ = xs1
}
`, got)
}

func TestArraysAndSerial(t *testing.T) {
	s := set(t)
	got := body(t, s, "Arrays", Binding{Shape: AShape{S: 8}, Serial: "(n + 3) / 4"})
	require.Equal(t, `func kernel(n int, y []float64) {
	lo, hi := 0, (n+3)/4
	const S int = 8
	var rowArr [S]float64
	row := rowArr[:]
	for i := lo; i < hi; i++ {
		row[i%S] += y[i]
	}
	y[0] = row[0]
}
`, got)
}

func TestFinish(t *testing.T) {
	s := set(t)
	f, err := s.Instantiate("Finish", Binding{Shape: FShape{Name: "k", Resid: true, S: 4}})
	require.NoError(t, err)
	require.Equal(t, "(m int, y, resid []float32) int", f.Signature())
	require.Equal(t, `func kernel(m int, y, resid []float32) int {
	if m > len(y) {
		panic("k: buffer too short")
	}
	var bufArr [4]float32
	buf := bufArr[:]
	var res []float32 = resid
	g(buf, res)
	return len(buf)
}
`, body(t, s, "Finish", Binding{Shape: FShape{Name: "k", Resid: true, S: 4}}))
	require.Equal(t, `func kernel(m int, y, resid []float32) int {
	if m > len(y) {
		panic("k: buffer too short")
	}
	var buf []float32
	g(buf, nil)
	return len(buf)
}
`, body(t, s, "Finish", Binding{Shape: FShape{Name: "k", S: 4}}))
}

func TestHelpers(t *testing.T) {
	f, err := set(t).Instantiate("Helpers", Binding{Shape: AShape{S: 1}})
	require.NoError(t, err)
	require.Equal(t, "error", f.Result)
	require.Len(t, f.Helpers, 2)
	require.Contains(t, f.Helpers["eArgs"], "type eArgs struct {")
	require.Contains(t, f.Helpers["eArgs"], "func (e *eArgs) sum() int { return e.a + e.b + helperConst }")
	require.Equal(t, "const helperConst = 2\n", f.Helpers["helperConst"])
	require.Contains(t, f.Body, `fmt.Errorf("too big: %d", a.sum())`)
}
