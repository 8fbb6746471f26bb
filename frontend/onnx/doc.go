// Package onnx imports ONNX models (ModelProto, protobuf) into the IR.
//
// Decode parses the bytes; Import walks the graph in order and turns each
// node into IR ops through the op table (optable.go), which gives every
// supported op type its opset range and importer (one file per op family:
// ops_dense.go, ops_elementwise.go, ops_data.go, ops_pool.go, …).
// Semantics follow the opset of the model's default domain; an op, an
// attribute or an opset the importer does not know is an error that
// names the node, its op type, the opset and what is supported, never a
// guess.
//
// Integer shape computations (Shape → Gather → Unsqueeze → Concat →
// Reshape, Expand by Shape(x)[0], …) are evaluated symbolically at import
// time (shapeval.go): their elements are affine in the batch N, the IR's
// one symbolic dimension, and they become attributes (a reshape's target
// shape). Anything else that needs a value at import time, fed at run
// time, is an error naming the node.
//
// After import, patterns.go recognises what exporters emit for GELU,
// LayerNorm and attention and replaces them by the IR's gelu, layernorm
// and attention ops.
//
// The ONNX backend conformance tests (internal/onnxdata's archive) run
// through the reference evaluator and through generated code
// (nodetest_test.go); docs/onnx-node-tests.md lists every result.
package onnx
