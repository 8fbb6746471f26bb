package onnx_test

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx/onnxpb"
)

// modelBuilder writes small ONNX models for tests.
type modelBuilder struct{ m *onnxpb.ModelProto }

func newModel(opset int64) *modelBuilder {
	return &modelBuilder{&onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:       &onnxpb.GraphProto{Name: proto.String("t")},
	}}
}

// valueInfo: dims are ints or strings (dim_param).
func valueInfo(name string, dt onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch x := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(x)}})
		case string:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: x}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}}}
}

func (b *modelBuilder) input(name string, dims ...any) *modelBuilder {
	b.m.Graph.Input = append(b.m.Graph.Input, valueInfo(name, onnxpb.TensorProto_FLOAT, dims...))
	return b
}

func (b *modelBuilder) output(names ...string) *modelBuilder {
	for _, n := range names {
		b.m.Graph.Output = append(b.m.Graph.Output, &onnxpb.ValueInfoProto{Name: proto.String(n)})
	}
	return b
}

func (b *modelBuilder) node(op string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *modelBuilder {
	b.m.Graph.Node = append(b.m.Graph.Node, &onnxpb.NodeProto{
		OpType: proto.String(op), Input: ins, Output: outs, Name: proto.String(outs[0] + "_node"), Attribute: attrs,
	})
	return b
}

func (b *modelBuilder) floats(name string, shape []int64, v ...float32) *modelBuilder {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	b.m.Graph.Initializer = append(b.m.Graph.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: shape, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw})
	return b
}

func (b *modelBuilder) ints(name string, v ...int64) *modelBuilder {
	b.m.Graph.Initializer = append(b.m.Graph.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v})
	return b
}

func (b *modelBuilder) scalar(name string, v int64) *modelBuilder {
	b.m.Graph.Initializer = append(b.m.Graph.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{v}})
	return b
}

func (b *modelBuilder) bytes(t testing.TB) []byte {
	data, err := proto.Marshal(b.m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}
