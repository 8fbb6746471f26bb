package ir_test

import (
	"testing"

	"github.com/modelc/modelc/ir"
)

// A clone prints as the original, and rewriting it (an op's attributes,
// a value's shape, the node list) leaves the original as it was.
func TestClone(t *testing.T) {
	g, err := ir.Parse("c.ir", []byte(`graph c {
  input %x: f32[N,4]
  const %w: f32[3,4] = dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]>
  %h = linear @fc (%x, %w): f32[N,3]
  %y = relu (%h): f32[N,3]
  output %y
}`))
	if err != nil {
		t.Fatal(err)
	}
	before := g.String()
	c := g.Clone()
	if c.String() != before {
		t.Fatalf("clone prints\n%s\nwant\n%s", c, before)
	}
	if err := ir.Verify(c); err != nil {
		t.Fatal(err)
	}
	c.Nodes[0].Op.(*ir.Linear).Epilogue.Act = "relu"
	c.Nodes[0].Outputs[0] = c.Nodes[1].Outputs[0]
	c.Nodes = c.Nodes[:1]
	c.Inputs[0].Type.Shape[1] = ir.D(5)
	if g.String() != before {
		t.Fatalf("rewriting the clone changed the original:\n%s", g)
	}
	if c.Consts[0].Const != g.Consts[0].Const {
		t.Errorf("constant data is copied, want it shared")
	}
}
