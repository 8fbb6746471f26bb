package zoo

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
)

var update = flag.Bool("update", false, "regenerate the zoo's test vectors")

// TestVectors evaluates every zoo model on its batch-2 test inputs and
// checks the outputs against the stored vectors (rewritten with -update),
// and that they are finite and not degenerate.
func TestVectors(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			m, err := frontend.LoadNamed(FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				writeVectors(t, name, m)
			}
			ins, want, err := m.TestData()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ir.Eval(m.Graph, ins...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				rowLen := got[i].Shape[len(got[i].Shape)-1]
				if _, err := match.Outputs(got[i].F, want[i].F, rowLen, m.Test.Rtol); err != nil {
					t.Errorf("output %d: %v", i, err)
				}
				var s, ss float64
				for _, v := range got[i].F {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output %d has non-finite values", i)
					}
					s += float64(v)
					ss += float64(v) * float64(v)
				}
				n := float64(len(got[i].F))
				if std := math.Sqrt(ss/n - (s/n)*(s/n)); std <= 1e-3 {
					t.Errorf("output %d: std(logits) = %g, want > 1e-3", i, std)
				}
			}
		})
	}
}

func writeVectors(t *testing.T, name string, m *frontend.Model) {
	ins := ir.SampleInputs(m.Graph, 2, 7)
	outs, err := ir.Eval(m.Graph, ins...)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file string, x *ir.Tensor) {
		if err := tensorio.WriteNpy(filepath.Join(name, file), frontend.FromTensor("", x)); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.Test.Inputs) != 1 || len(m.Test.Outputs) != 1 {
		t.Fatalf("-update writes one input and one output file")
	}
	write(m.Test.Inputs[0], ins[0])
	write(m.Test.Outputs[0], outs[0])
	// The embedded copy is stale now; read the fresh files from disk.
	fresh, err := frontend.Load(filepath.Join(name, "model.yaml"), frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	*m = *fresh
	_ = os.Stdout
}
