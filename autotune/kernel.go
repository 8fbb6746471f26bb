package autotune

// Kernel is one tunable kernel: a family's variant space at one static
// shape, and the code of its variants.
type Kernel interface {
	// Family names the kernel family and the tier its variants run at,
	// e.g. "linear.avx512": the database's kernel field.
	Family() string
	// Shape names the static shape, e.g. "n512_k768".
	Shape() string
	// Space is the variants.
	Space() *Space
	// Default is the variant codegen chooses without tuning; it is in
	// Space.
	Default() Point
	// FLOPs returns the floating-point operations of one call on batch
	// rows, for reports.
	FLOPs(batch int) float64
	// Choice returns variant p as codegen's Input.Tuning spells it.
	Choice(p Point) string
	// Program emits the kernel part of a harness (see harness_main.go)
	// holding the variants vs, variant i of the harness being vs[i].
	Program(vs []Point) (Program, error)
}

// Program is the kernel part of a harness: Go source (package main) and
// more files by name (a target's kernels_amd64.go and .s).
type Program struct {
	Go    string
	Files map[string][]byte
}

// probeProgram is the kernel part of a harness that only probes the
// machine.
var probeProgram = Program{Go: `package main

var variants []variant

type kcase struct{}

func newCase(int) *kcase      { return nil }
func (*kcase) prepare()        {}
func (*kcase) run(int)         {}
func (*kcase) check(int) error { return nil }
`}
