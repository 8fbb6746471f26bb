package codegen_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/harness"
)

// TestTwoModelsConcurrently runs two generated packages (an MLP and a ViT
// accuracy twin) at once under the race detector: per model, 8 goroutines
// for MODELC_RACE_SECONDS (default 1; make test-long gives 10), half on
// their own Clone, half sharing one Model (whose calls are serialised),
// all through the one process-wide pool, and every output must equal, bit
// for bit, what a single caller got before.
func TestTwoModelsConcurrently(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two generated packages with -race")
	}
	seconds := "1"
	if s := os.Getenv("MODELC_RACE_SECONDS"); s != "" {
		seconds = s
	}
	mod := harness.TempModule(t, "race")
	var imports, decls strings.Builder
	for _, twin := range []string{"resmlp-bn", "vit"} {
		m, err := frontend.Load("../zoo/twins/"+twin+"/model.yaml", frontend.Options{})
		require.NoError(t, err)
		ins, _, err := m.TestData()
		require.NoError(t, err)
		res, err := compile.Compile(m, compile.Options{})
		require.NoError(t, err)
		mod.MustAdd(t, m.Package, res.Files)
		bits := make([]string, len(ins[0].F))
		for i, f := range ins[0].F {
			bits[i] = fmt.Sprint(math.Float32bits(f))
		}
		fmt.Fprintf(&imports, "\t%q\n", mod.Import(m.Package))
		fmt.Fprintf(&decls, "\t{%q, func() (predictFn, func() predictFn, error) {\n\t\tm, err := %s.New()\n\t\tif err != nil {\n\t\t\treturn nil, nil, err\n\t\t}\n\t\treturn m.Predict, func() predictFn { return m.Clone().Predict }, nil\n\t}, floats([]uint32{%s}), %d},\n",
			m.Package, m.Package, strings.Join(bits, ", "), ins[0].Shape[0])
	}
	src := strings.Replace(raceProgram, "IMPORTS", imports.String(), 1)
	src = strings.Replace(src, "MODELS", decls.String(), 1)
	require.NoError(t, os.WriteFile(mod.PkgDir("race_test.go"), []byte(src), 0o644))
	out := mod.MustGo(t, []string{"MODELC_RACE_SECONDS=" + seconds}, "test", "-count=1", "-race", "-v", "-run", "TestConcurrent", ".")
	require.Contains(t, out, "--- PASS: TestConcurrent")
	t.Log(out)
}

const raceProgram = `package race

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

IMPORTS)

// predictFn is a Model's Predict.
type predictFn func(dst, x []float32) ([]float32, error)

func floats(bits []uint32) []float32 {
	f := make([]float32, len(bits))
	for i, b := range bits {
		f[i] = math.Float32frombits(b)
	}
	return f
}

type model struct {
	name  string
	newFn func() (shared predictFn, clone func() predictFn, err error)
	x     []float32
	batch int
}

var models = []model{
MODELS}

func TestConcurrent(t *testing.T) {
	seconds, _ := strconv.ParseFloat(os.Getenv("MODELC_RACE_SECONDS"), 64)
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	calls := make([]int, len(models))
	var mu sync.Mutex
	for i, md := range models {
		shared, clone, err := md.newFn()
		if err != nil {
			t.Fatal(err)
		}
		// A single caller's outputs at every batch, before any concurrency.
		per := len(md.x) / md.batch
		want := make([][]float32, md.batch+1)
		for b := 1; b <= md.batch; b++ {
			if want[b], err = shared(nil, md.x[:b*per]); err != nil {
				t.Fatal(err)
			}
		}
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := shared
				if g%2 == 0 {
					p = clone()
				}
				var got []float32
				n := 0
				for ; n < 2 || time.Now().Before(deadline); n++ {
					// Batches 1 … batch, so calls of different sizes interleave.
					b := 1 + (g+n)%md.batch
					var err error
					if got, err = p(got[:0], md.x[:b*per]); err != nil {
						errs <- err
						return
					}
					w := want[b]
					for j := range got {
						if got[j] != w[j] {
							errs <- fmt.Errorf("%s goroutine %d call %d (batch %d): output %d = %v, a single caller got %v", md.name, g, n, b, j, got[j], w[j])
							return
						}
					}
				}
				mu.Lock()
				calls[i] += n
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, md := range models {
		t.Logf("%s: %d calls on 8 goroutines", md.name, calls[i])
	}
}
`
