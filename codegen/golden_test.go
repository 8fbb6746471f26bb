package codegen_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
	"github.com/modelc/modelc/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// goldenCases are the graphs under testdata/golden and the generated
// files compared for each: small.ir holds one kernel of each family the
// vector targets have, generic.ir one of each pure-Go template the
// other leaves out.
var goldenCases = []struct {
	name  string
	files []string
}{
	{"small", []string{"model.go", "kernels.go", "kernels_amd64.go", "kernels_amd64.s", "kernels_amd64_stub.go", "kernels_arm64.go", "kernels_arm64.s"}},
	{"generic", []string{"kernels.go"}},
}

// goldenFiles generates the package of testdata/golden/NAME.ir, its
// constants made dense and random.
func goldenFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "golden", name+".ir"))
	require.NoError(t, err)
	g, err := ir.Parse(name+".ir", src)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(1))
	for _, v := range g.Consts {
		d := v.Const.Dense()
		for i := range d.F {
			d.F[i] = float32(rng.NormFloat64())
		}
		v.Const = d
	}
	for _, nd := range g.Nodes {
		if _, ok := nd.Op.(*ir.BatchNorm); ok { // a variance is positive (bn-fold checks)
			d := nd.Inputs[4].Const.Dense()
			for i, f := range d.F {
				d.F[i] = float32(math.Abs(float64(f)))
			}
			nd.Inputs[4].Const = d
		}
	}
	return generate(t, &frontend.Model{Name: name, Package: name, Graph: g}, nil)
}

// golden compares got with testdata/golden/file.golden, or rewrites it
// with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", file+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./codegen -run 'TestGolden|TestBoundsChecks' -update")
	require.Equal(t, string(want), string(got), "%s differs from %s (go test ./codegen -run 'TestGolden|TestBoundsChecks' -update, then review the diff)", file, path)
}

// TestGolden generates each of goldenCases and compares the generated
// Go and assembly with the committed .golden files; `go test ./codegen
// -run TestGolden -update` rewrites them, and a reviewer reads the diff
// like code. It also checks that every kernel is named after its op: no
// name is a hash.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		files := goldenFiles(t, c.name)
		for _, name := range c.files {
			got, ok := files[name]
			require.True(t, ok, "%s was not generated", name)
			golden(t, c.name+"."+name, got)
		}
		// Every Go kernel (a func or a parallel kernel's type) starts
		// with its op's name, or is the pure-Go GEMM.
		for _, m := range regexp.MustCompile(`(?m)^// (\w+) computes `).FindAllStringSubmatch(string(files["kernels.go"]), -1) {
			if m[1] == "run" { // a parallel kernel's method
				continue
			}
			named := false
			for op := range opNames {
				named = named || strings.HasPrefix(m[1], op+"_")
			}
			require.True(t, named, "kernel %s is not named after its op", m[1])
		}
	}
	// Every target kernel names its family and tier.
	files := goldenFiles(t, "small")
	for _, m := range regexp.MustCompile(`(?m)^TEXT ·(\w+)\(SB\)`).FindAllStringSubmatch(string(files["kernels_amd64.s"]), -1) {
		require.Regexp(t, "^(gemm|ew|layernorm|softmax|attn)_.*(avx512|avx2|neon|_k)", m[1])
		require.False(t, strings.Contains(m[1], "__"), m[1])
	}
}

// opNames are the ops' names as kernel names start (conv2d's kernels are
// named by their window: conv3x3_…).
var opNames = func() map[string]bool {
	m := map[string]bool{"sgemm": true, "conv1x1": true, "conv3x3": true, "conv5x5": true, "conv7x7": true}
	for k := ir.Kind(0); k < 200; k++ {
		if s := k.String(); !strings.Contains(s, "(") {
			m[strings.ReplaceAll(s, "-", "_")] = true
		}
	}
	return m
}()

// TestBoundsChecks builds each golden package with the compiler's
// bounds-check report (-d=ssa/check_bce) and compares the checks left in
// each kernel of kernels.go and of the amd64 drivers with the committed
// NAME.bce.golden (-update rewrites it): a template change that leaves a
// check in a kernel that had none shows in review, and one that adds
// checks fails here. The kernels' speed depends on their inner loops
// being free of them; gemm.Emit's tiles are held to none by
// codegen/gemm's TestVetAndBoundsChecks.
func TestBoundsChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two generated packages")
	}
	mod := harness.TempModule(t, "bce")
	for _, c := range goldenCases {
		files := goldenFiles(t, c.name)
		mod.MustAdd(t, c.name, files)
		out, err := mod.Go(nil, "build", "-gcflags=-d=ssa/check_bce/debug=1", "-o", os.DevNull, "./"+c.name)
		require.NoError(t, err, "%s", out)
		counts := map[string]int{}
		for _, m := range regexp.MustCompile(`(kernels(?:_amd64)?\.go):(\d+):\d+: Found Is`).FindAllStringSubmatch(string(out), -1) {
			line, _ := strconv.Atoi(m[2])
			counts[m[1]+" "+funcAt(string(files[m[1]]), line)]++
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# Bounds checks the compiler leaves in %s.ir's kernels, by file and function (TestBoundsChecks).\n", c.name)
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %d\n", k, counts[k])
		}
		golden(t, c.name+".bce", []byte(b.String()))
	}
}

// funcAt names the function around line (1-based) of src: a method as
// Type.method.
func funcAt(src string, line int) string {
	name := "?"
	decl := regexp.MustCompile(`^func (?:\(\w+ \*?(\w+)\) )?(\w+)`)
	for i, l := range strings.Split(src, "\n") {
		if i+1 > line {
			break
		}
		if m := decl.FindStringSubmatch(l); m != nil {
			name = m[2]
			if m[1] != "" {
				name = m[1] + "." + m[2]
			}
		}
	}
	return name
}
