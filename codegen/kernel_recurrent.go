package codegen

import (
	"github.com/modelc/modelc/codegen/kernels"
	"github.com/modelc/modelc/codegen/tmpl"
	"github.com/modelc/modelc/ir"
)

// The recurrent op (ONNX's RNN, GRU and LSTM): the importer puts the
// input projection X·Wᵀ of every step on a linear, so the GEMM kernels
// run it; this kernel runs the recurrence, kernels.Recurrent specialised
// to the node (pure Go, one direction and sequence at a time, each
// step's h·Rᵀ a float64 dot product per gate).

func init() {
	register(genRecurrent, ir.KRecurrent)
}

func genRecurrent(c *kctx) error {
	s, err := kernels.RecurrentOf(c.node)
	if err != nil {
		return err
	}
	var omit []string
	for _, o := range []struct {
		has  bool
		name string
	}{{s.LSTM, "yc"}, {s.Bias, "b"}, {s.Seq, "seq"}, {s.H0, "h0"}, {s.C0, "c0"}, {s.Peeps, "p"}} {
		if !o.has {
			omit = append(omit, o.name)
		}
	}
	return c.template("Recurrent", tmpl.Binding{Shape: s, Omit: omit})
}
