// Package ir is modelc's tensor IR: a graph of typed ops over values with
// static shapes, where at most one dimension symbol, the batch N, may
// appear, always affinely (a·N + b).
//
// A graph prints as text and parses back (Fprint, Parse):
//
//	graph tiny {
//	  input %x: f32[N,4]
//	  const %fc1.weight: f32[3,4] = dense<[...]>
//	  const %fc1.bias: f32[3] = splat<0>
//	  %h = linear @fc1 (%x, %fc1.weight, %fc1.bias): f32[N,3]
//	  %y = relu (%h): f32[N,3]
//	  output %y
//	}
//
// %names are values, @names the model's layer names (what passes target
// and reports cite). Types read dtype[dims], optionally <scale=…,zp=…> or
// <fixed=W.F> for quantised integers and #layout for a physical layout
// (nchw8c, …) that only kernels care about.
//
// Ops are Go structs (ops.go) whose attributes are tagged fields; the op
// table (op.go) gives each kind its name, arity, defaults and shape rule
// (infer.go), and evalTable (eval_*.go) its reference semantics. The op
// families ONNX import added keep struct, shape rule and evaluator in one
// file each and fill their table rows in init (ops_compare.go,
// ops_unary.go, ops_reduce.go, ops_index.go, ops_resize.go,
// ops_bitcast.go, ops_recurrent.go (ONNX's RNN, GRU and LSTM after
// their input projection), ops_window.go: the convolutions and pools of
// any spatial rank, conv_nd, conv_transpose_nd, maxpool_nd and
// avgpool_nd, for what the 2-D ops on NCHW cannot express, and
// ops_quant.go: quantize, dequantize, requantize and the integer layers
// qlinear and qconv2d, whose arithmetic is runtime/quant's, shared with
// generated code). Adding an op is one struct, one table row, one shape
// rule, one evaluator and one PyTorch fixture in testdata/torch.
//
// The reference evaluator (Eval) is the oracle for passes and kernels: f32
// storage, float64 accumulation, blocked and multi-threaded so tests and
// calibration stay fast. It is checked op by op against PyTorch.
package ir
