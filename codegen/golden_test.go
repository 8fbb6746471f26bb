package codegen_test

import (
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// TestGolden generates testdata/golden/small.ir (one kernel of each
// family the amd64 target has) and compares the generated Go and
// assembly with the committed .golden files; `go test ./codegen -run
// TestGolden -update` rewrites them, and a reviewer reads the diff like
// code. It also checks that every kernel is named after its op: no name
// is a hash.
func TestGolden(t *testing.T) {
	src, err := os.ReadFile("testdata/golden/small.ir")
	require.NoError(t, err)
	g, err := ir.Parse("small.ir", src)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(1))
	for _, v := range g.Consts {
		d := v.Const.Dense()
		for i := range d.F {
			d.F[i] = float32(rng.NormFloat64())
		}
		v.Const = d
	}
	files := generate(t, &frontend.Model{Name: "small", Package: "small", Graph: g}, nil)
	for _, name := range []string{"model.go", "kernels.go", "kernels_amd64.go", "kernels_amd64.s", "kernels_amd64_stub.go", "kernels_arm64.go", "kernels_arm64.s"} {
		got, ok := files[name]
		require.True(t, ok, "%s was not generated", name)
		path := filepath.Join("testdata", "golden", "small."+name+".golden")
		if *update {
			require.NoError(t, os.WriteFile(path, got, 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run go test ./codegen -run TestGolden -update")
		require.Equal(t, string(want), string(got), "%s differs from %s (go test ./codegen -run TestGolden -update, then review the diff)", name, path)
	}
	// Every Go kernel (a func or a parallel kernel's type) starts with
	// its op's name; every target kernel names its family and tier.
	goKernel := regexp.MustCompile(`(?m)^// (\w+) computes `)
	ops := "relayout|linear|gelu|add|relu|layernorm|softmax|conv3x3|attention|sgemm"
	for _, m := range goKernel.FindAllStringSubmatch(string(files["kernels.go"]), -1) {
		if m[1] == "run" { // a parallel kernel's method
			continue
		}
		require.Regexp(t, "^("+ops+")_[a-z0-9_]+$", m[1])
	}
	for _, m := range regexp.MustCompile(`(?m)^TEXT ·(\w+)\(SB\)`).FindAllStringSubmatch(string(files["kernels_amd64.s"]), -1) {
		require.Regexp(t, "^(gemm|ew|layernorm|softmax|attn)_.*(avx512|avx2|neon|_k)", m[1])
		require.False(t, strings.Contains(m[1], "__"), m[1])
	}
}
