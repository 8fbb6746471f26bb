package frontend_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/ir"
)

// gemmONNX is y = x·wᵀ + b (Gemm, transB) with w stored as external data
// in location, and b inside the file.
func gemmONNX(t *testing.T, location string) []byte {
	t.Helper()
	f32 := onnxpb.TensorProto_FLOAT
	dim := func(v int64) *onnxpb.TensorShapeProto_Dimension {
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}}
	}
	batch := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(f32)), Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{batch, dim(2)}}}}}}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
			Initializer: []*onnxpb.TensorProto{
				{Name: proto.String("w"), Dims: []int64{3, 2}, DataType: proto.Int32(int32(f32)),
					DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
					ExternalData: []*onnxpb.StringStringEntryProto{
						{Key: proto.String("location"), Value: proto.String(location)},
						{Key: proto.String("offset"), Value: proto.String("4")},
						{Key: proto.String("length"), Value: proto.String("24")}}},
				{Name: proto.String("b"), Dims: []int64{3}, DataType: proto.Int32(int32(f32)), FloatData: []float32{10, 20, 30}},
			},
			Node: []*onnxpb.NodeProto{{Name: proto.String("fc"), OpType: proto.String("Gemm"), Input: []string{"x", "w", "b"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("transB"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}}}},
		},
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// weightsBin holds w = [[1,2],[3,4],[5,6]] after 4 bytes of padding.
func weightsBin() []byte {
	b := make([]byte, 4+24)
	for i, v := range []float32{1, 2, 3, 4, 5, 6} {
		binary.LittleEndian.PutUint32(b[4+4*i:], math.Float32bits(v))
	}
	return b
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkGemm(t *testing.T, g *ir.Graph) {
	t.Helper()
	x := &ir.Tensor{DType: ir.F32, Shape: []int{2, 2}, F: []float32{1, 0, 0, 1}}
	out, err := ir.Eval(g, x)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{11, 23, 35, 12, 24, 36}
	for i, v := range want {
		if out[0].F[i] != v {
			t.Fatalf("y = %v, want %v", out[0].F, want)
		}
	}
}

func TestLoadONNXWithExternalData(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "m", "model.onnx"), gemmONNX(t, "data/w.bin"))
	write(t, filepath.Join(dir, "m", "data", "w.bin"), weightsBin())
	m, err := frontend.Load(filepath.Join(dir, "m", "model.onnx"), frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// DIR/model.onnx is named after DIR.
	if m.Name != "m" || m.Package != "m" || !m.Graph.Inputs[0].Type.Shape.Equal(ir.Shape{ir.N, ir.D(2)}) {
		t.Fatalf("model %q package %q graph\n%s", m.Name, m.Package, m.Graph)
	}
	checkGemm(t, m.Graph)
}

func TestONNXExternalDataStaysInside(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "outside", "w.bin"), weightsBin())
	write(t, filepath.Join(dir, "m", "up.onnx"), gemmONNX(t, "../outside/w.bin"))
	if err := os.Symlink(filepath.Join(dir, "outside", "w.bin"), filepath.Join(dir, "m", "link.bin")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "m", "link.onnx"), gemmONNX(t, "link.bin"))
	write(t, filepath.Join(dir, "m", "abs.onnx"), gemmONNX(t, filepath.Join(dir, "outside", "w.bin")))
	for _, name := range []string{"up.onnx", "link.onnx", "abs.onnx"} {
		_, err := frontend.Load(filepath.Join(dir, "m", name), frontend.Options{})
		if err == nil || !(strings.Contains(err.Error(), "outside the model's directory") || strings.Contains(err.Error(), "absolute path")) {
			t.Errorf("%s: got %v, want a path-policy error", name, err)
		}
	}
	// --allow-external-paths lets the relative ones through.
	m, err := frontend.Load(filepath.Join(dir, "m", "up.onnx"), frontend.Options{AllowExternalPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	checkGemm(t, m.Graph)
}

func TestYAMLSourceONNX(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "nets", "fc.onnx"), gemmONNX(t, "w.bin"))
	write(t, filepath.Join(dir, "nets", "w.bin"), weightsBin())
	write(t, filepath.Join(dir, "model.yaml"), []byte("name: fc-net\nsource: {onnx: nets/fc.onnx}\ntargets: [amd64]\npasses: [bn-fold]\n"))
	m, err := frontend.Load(filepath.Join(dir, "model.yaml"), frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "fc-net" || m.Package != "fcnet" || len(m.Targets) != 1 || len(m.Passes) != 1 || m.Graph.Name != "fc-net" {
		t.Fatalf("got %+v", m)
	}
	checkGemm(t, m.Graph)

	for _, c := range []struct{ yaml, want string }{
		{"name: x\nsource: {onnx: nets/fc.onnx}\ngraph:\n  - relu:\n", "model.yaml:4:3: model: graph: not with source"},
		{"name: x\nsource: {onnx: nets/missing.onnx}\n", "model.yaml:2:16: source: nets/missing.onnx: no such file"},
		{"name: x\nsource: {tflite: a}\n", "model.yaml:2:9:"},
	} {
		write(t, filepath.Join(dir, "bad.yaml"), []byte(c.yaml))
		_, err := frontend.Load(filepath.Join(dir, "bad.yaml"), frontend.Options{})
		if err == nil || !strings.Contains(err.Error(), strings.Replace(c.want, "model.yaml", "bad.yaml", 1)) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
