package onnx_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/ir"
)

func attrStrings(name string, v ...string) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRINGS.Enum()}
	for _, s := range v {
		a.Strings = append(a.Strings, []byte(s))
	}
	return a
}

func attrFloats(name string, v ...float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: v}
}

func seqFloats(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7)*0.1 - 0.3
	}
	return v
}

// lstmModel is a bidirectional batch-first LSTM (hidden 2, input 3, T 4)
// with constant weights and sequence_lens, and attrs added.
func lstmModel(opset int64, seq []int64, attrs ...*onnxpb.AttributeProto) *modelBuilder {
	const D, H, I = 2, 2, 3
	var batch any = "n"
	if seq != nil {
		batch = len(seq)
	}
	b := newModel(opset).input("x", batch, 4, I).
		floats("w", []int64{D, 4 * H, I}, seqFloats(D*4*H*I)...).
		floats("r", []int64{D, 4 * H, H}, seqFloats(D*4*H*H)...).
		floats("b", []int64{D, 8 * H}, seqFloats(D*8*H)...)
	ins := []string{"x", "w", "r", "b"}
	if seq != nil {
		b.ints("seq", seq...)
		ins = append(ins, "seq")
	}
	attrs = append([]*onnxpb.AttributeProto{attrInt("hidden_size", H), attrString("direction", "bidirectional"), attrInt("layout", 1)}, attrs...)
	return b.node("LSTM", ins, []string{"y", "", "yc"}, attrs...).output("y", "yc")
}

// TestRecurrentImport checks what an LSTM becomes: a linear on constant
// [D·4H, I] weights, then recurrent with the activations resolved
// (names lowered, alphas and betas consumed in order by the activations
// that take them, defaults for the rest, one direction's list serving
// both), a constant sequence_lens of T dropped, Y_h (omitted) still an
// output of the op.
func TestRecurrentImport(t *testing.T) {
	m := lstmModel(14, []int64{4, 4}, attrStrings("activations", "HardSigmoid", "Tanh", "ScaledTanh"),
		attrFloats("activation_alpha", 0.25, 1.5), attrFloats("activation_beta", 0.75), attrFloat("clip", 3))
	g, err := onnx.Load(m.bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var rec *ir.Recurrent
	for _, n := range g.Nodes {
		kinds = append(kinds, n.Op.Kind().String())
		switch o := n.Op.(type) {
		case *ir.Recurrent:
			rec = o
			if len(n.Inputs) != 3 || len(n.Outputs) != 3 {
				t.Errorf("recurrent has %d inputs (want xw, r, b) and %d outputs (want 3)", len(n.Inputs), len(n.Outputs))
			}
		case *ir.Linear:
			if w := n.Inputs[1]; w.Const == nil || !w.Type.Shape.Equal(ir.StaticShape(16, 3)) {
				t.Errorf("the projection's weights are %s (constant %v), want a constant [16, 3]", w.Type.Shape, w.Const != nil)
			}
		}
	}
	if strings.Join(kinds, " ") != "linear recurrent" {
		t.Fatalf("nodes %v, want linear recurrent", kinds)
	}
	if rec.Acts != "hardsigmoid,tanh,scaledtanh,hardsigmoid,tanh,scaledtanh" || rec.Layout != 1 || rec.Clip != 3 || rec.SeqLens || !rec.Bias {
		t.Errorf("recurrent %s", ir.Describe(rec))
	}
	// hardsigmoid takes α 0.25 and β 0.75; scaledtanh α 1.5 and, the
	// betas spent, β 0 (onnxruntime's default).
	wantA, wantB := []float64{0.25, 0, 1.5}, []float64{0.75, 0, 0}
	for i := range rec.Alpha {
		if rec.Alpha[i] != wantA[i%3] || rec.Beta[i] != wantB[i%3] {
			t.Fatalf("alpha %v beta %v, want %v and %v for each direction", rec.Alpha, rec.Beta, wantA, wantB)
		}
	}

	// A sequence_lens short of T stays an input of the op; the evaluator
	// zeros Y past it.
	g, err = onnx.Load(lstmModel(14, []int64{2, 4}).bytes(t), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &ir.Tensor{DType: ir.F32, Shape: []int{2, 4, 3}, F: seqFloats(24)}
	out, err := ir.Eval(g, x)
	if err != nil {
		t.Fatal(err)
	}
	y := out[0] // [B, T, D, H]
	for ti := 0; ti < 4; ti++ {
		for i := 0; i < 4; i++ {
			if v := y.F[(0*4+ti)*4+i]; (ti >= 2) != (v == 0) {
				t.Errorf("y[0, %d] = %v: steps from 2 on are zeros, the others not", ti, v)
			}
		}
	}
}

func TestRecurrentErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		m    *modelBuilder
		want string
	}{
		{"opset", lstmModel(6, nil), `node 0 "y_node" (LSTM, opset 6): unsupported LSTM at opset 6 (supported: opsets 7 to 28)`},
		{"activation", lstmModel(14, nil, attrStrings("activations", "Sigmoid", "Gelu", "Tanh")),
			`node 0 "y_node" (LSTM, opset 14): unsupported activation "gelu" (supported: relu, tanh,`},
		{"activation count", lstmModel(14, nil, attrStrings("activations", "Sigmoid", "Tanh")),
			`(LSTM, opset 14): activations: LSTM with 2 direction(s) takes 6 activations, got 2`},
		{"extra alphas", lstmModel(14, nil, attrFloats("activation_alpha", 1)),
			`(LSTM, opset 14): activation_alpha or activation_beta has 1 or 0 values more than the activations`},
		{"clip", lstmModel(14, nil, attrFloat("clip", -1)), `(LSTM, opset 14): unsupported clip -1: the threshold must be positive`},
		{"layout before opset 14", lstmModel(13, nil), `(LSTM, opset 13): unsupported attribute "layout" of LSTM before opset 14`},
		{"hidden_size", lstmModel(14, nil, attrInt("hidden_size", 3)), `(LSTM, opset 14): attribute "hidden_size" given twice`},
		{"gru attribute on lstm", lstmModel(14, nil, attrInt("linear_before_reset", 1)), `unsupported attribute "linear_before_reset" of LSTM`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnx.Load(c.m.bytes(t), onnx.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}
