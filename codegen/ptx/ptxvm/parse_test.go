package ptxvm_test

import (
	"testing"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/codegen/ptx/ptxvm"
)

// FuzzParse: any text is parsed or refused with an error, never a panic;
// the corpus starts from generated kernels of several families.
func FuzzParse(f *testing.F) {
	var m ptx.Module
	if k, _, err := ptx.Elementwise(ptx.ElementwiseSpec{Op: "gelu", Dims: []int{0, 8}, OutStrides: []int{8, 1},
		Ins: []ptx.Operand{{Strides: []int{8, 1}}}, Count: ptx.Rows{A: 8}}); err == nil {
		m.Add(k)
	}
	if k, _, err := ptx.Row(ptx.RowSpec{Op: "softmax", Rows: ptx.Rows{A: 1}, L: 40, Inner: 1, WarpsPerBlock: 2}); err == nil {
		m.Add(k)
	}
	if k, _, err := ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{A: 3}, N: 20, K: 12, Bias: true, Act: "relu", Tile: ptx.DefaultTiles[4]}); err == nil {
		m.Add(k)
	}
	src := string(m.Render("sm_80"))
	if len(src) < 1000 {
		f.Fatalf("the seed module has %d bytes: a generator failed", len(src))
	}
	f.Add(src)
	f.Add(".version 7.8\n.target sm_80\n.visible .entry k(\n\t.param .u64 y\n)\n{\n\tret;\n}\n")
	f.Fuzz(func(t *testing.T, src string) {
		m, err := ptxvm.Parse(src)
		if err == nil && m == nil {
			t.Fatal("no module and no error")
		}
	})
}
