package ir

import (
	"slices"
	"testing"
)

// TestRelayoutIsIdentity: the evaluator ignores physical layouts, so a
// relayout returns its input's values whatever the tags say, and the tags
// survive printing and parsing.
func TestRelayoutIsIdentity(t *testing.T) {
	src := `graph g {
  input %x: f32[2,3,2,2]
  %y = relayout (%x): f32[2,3,2,2]#nhwc
  %z = relayout (%y): f32[2,3,2,2]
  output %y, %z
}
`
	g, err := Parse("g.ir", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].Outputs[0].Type.Layout != NHWC || g.Nodes[1].Outputs[0].Type.Layout != LayoutAny {
		t.Fatalf("layouts not parsed: %s", g)
	}
	if got := g.String(); got != src {
		t.Errorf("printed\n%s\nwant\n%s", got, src)
	}
	x := NewTensor(F32, []int{2, 3, 2, 2})
	for i := range x.F {
		x.F[i] = float32(i) - 7.5
	}
	out, err := Eval(g, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].F, x.F) || !slices.Equal(out[1].F, x.F) {
		t.Errorf("relayout changed values: %v, %v", out[0].F, out[1].F)
	}
}
