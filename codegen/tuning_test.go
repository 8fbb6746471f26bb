package codegen_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
)

// TestTuningChoices builds a package with the autotuner's choices for
// four of its five linear layers (one per tier: an AVX-512 tile, an AVX2
// tile, the pure-Go kernel's parameters, a NEON tile, each with its own
// panel width) and an unusable one for the fifth: the choices are
// applied, the unusable one is reported, the database's hash is
// recorded, and the package matches the evaluator on every tier (arm64
// under qemu).
func TestTuningChoices(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package")
	}
	b := ir.NewBuilder("tuned")
	x, _ := b.Input("x", ir.TensorType(ir.F32, ir.Shape{ir.N, ir.D(300)}))
	shapes := [][2]int{{70, 300}, {37, 70}, {40, 37}, {9, 40}, {24, 9}}
	h := x
	for l, s := range shapes {
		w, bias := ir.NewTensor(ir.F32, []int{s[0], s[1]}), ir.NewTensor(ir.F32, []int{s[0]})
		for i := range w.F {
			w.F[i] = float32((i*7919+l)%23-11) / 64
		}
		for i := range bias.F {
			bias.F[i] = float32(i%5) / 4
		}
		wv, _ := b.Const("w"+string(rune('a'+l)), w)
		bv, _ := b.Const("b"+string(rune('a'+l)), bias)
		var err error
		h, err = b.Add1("fc"+string(rune('a'+l)), &ir.Linear{}, []*ir.Value{h, wv, bv}, "h"+string(rune('a'+l)))
		require.NoError(t, err)
	}
	b.G.Outputs = []*ir.Value{h}
	in := ir.SampleInputs(b.G, 13, 5)
	want, err := ir.Eval(b.G, in...)
	require.NoError(t, err)
	m := &frontend.Model{Name: "tuned", Package: "tuned", Graph: b.G}
	files := generateTuned(t, m, &codegen.Vectors{Inputs: in, Outputs: want, Rtol: 1e-4}, map[string]string{
		"linear.avx512 n70_k300": "pw=32,mr=7",
		"linear.avx2 n37_k70":    "pw=16,nv=1,mr=9",
		"linear.generic n40_k37": "pw=48,mr=2,nr=3,kc=16,ku=2",
		"linear.avx512 n9_k40":   "pw=16,mr=30", // 30 rows do not fit: the default tile
		"linear.neon n24_k9":     "pw=16,nv=2,mr=3",
	}, "0123456789abcdef")
	report := string(files["REPORT.md"])
	for _, s := range []string{
		"Tuning database sha256 `0123456789abcdef`: 5 kernel choice(s) given, 5 applied.", "| linear.neon n24_k9 | pw=16,nv=2,mr=3 |",
		"| linear.avx512 n70_k300 | pw=32,mr=7 |", "| linear.avx2 n37_k70 | pw=16,nv=1,mr=9 |", "| linear.generic n40_k37 | pw=48,mr=2,nr=3,kc=16,ku=2 |",
	} {
		require.Contains(t, report, s)
	}
	amd := string(files["kernels_amd64.go"])
	require.Contains(t, amd, "linear_n70_k300_pw32_b_7x32_avx512")
	require.Contains(t, amd, "linear_n37_k70_pw16_b_9x8_avx2")
	require.Contains(t, amd, "linear_n9_k40_pw16_b_avx512", "an unusable tile keeps the default")
	require.Contains(t, string(files["kernels.go"]), "sgemm_n40_k37_2x3_kc16_u2_pw48_b")
	require.Contains(t, string(files["kernels_arm64.go"]), "linear_n24_k9_pw16_b_3x8_neon")
	for name, f := range files {
		if strings.HasSuffix(name, ".go") {
			require.Contains(t, string(f), "// Tuned with the tuning database of sha256 0123456789abcdef.", name)
		}
	}
	module(t, "tuned", files).EveryTier(t, "./tuned")

	// A choice codegen cannot read is reported, not applied.
	files = generateTuned(t, m, nil, map[string]string{"linear.generic n40_k37": "pw=40,mr=1,nr=8,kc=0,ku=4", "linear.avx2 n70_k300": "pw=16,xx=2"}, "feed")
	report = string(files["REPORT.md"])
	require.Contains(t, report, "2 kernel choice(s) given, 0 applied.")
	require.Contains(t, report, "- not applied: linear.generic n40_k37: choice \"pw=40,mr=1,nr=8,kc=0,ku=4\": panel width 40 is not a multiple of 16")
	require.Contains(t, report, "- not applied: linear.avx2 n70_k300: choice \"pw=16,xx=2\": unknown parameter xx for tier avx2")
}
