package ir_test

import (
	"testing"

	"github.com/modelc/modelc/internal/fixtures"
	"github.com/modelc/modelc/ir"
)

// The evaluator is the oracle for everything else, so it is not its own
// judge: testdata/torch holds PyTorch's outputs for every op (see its
// README, and internal/fixtures, which reads them), and each case must
// match by the kernel rule of docs/design.md. codegen's TestConformance
// runs the same cases through generated code.

func TestEvalMatchesTorch(t *testing.T) {
	cases, err := fixtures.LoadTorch("testdata/torch")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			b := ir.NewBuilder(c.Name)
			outs, _, err := c.Build(b, c.Name, false)
			if err != nil {
				t.Fatal(err)
			}
			b.G.Outputs = outs
			if err := ir.Verify(b.G); err != nil {
				t.Fatal(err)
			}
			got, err := ir.Eval(b.G, c.Inputs...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.Outputs) {
				t.Fatalf("%d outputs, fixture has %d", len(got), len(c.Outputs))
			}
			for i, want := range c.Outputs {
				if err := fixtures.Match(got[i], want); err != nil {
					t.Errorf("output %d: %v", i, err)
				}
			}
		})
		covered[c.OpName] = true
	}
	// relayout changes only the physical layout, which the evaluator
	// ignores: TestRelayoutIsIdentity covers it.
	covered["relayout"] = true
	for _, name := range ir.OpNames() {
		if !covered[name] {
			t.Errorf("op %s has no PyTorch fixture", name)
		}
	}
}
