package onnx

import (
	"errors"
	"fmt"
)

// ErrUnsupported marks errors for valid ONNX that modelc does not import:
// an op type, attribute value, opset or element type it does not know.
var ErrUnsupported = errors.New("unsupported")

type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string   { return "unsupported " + e.msg }
func (e *unsupportedError) Is(t error) bool { return t == ErrUnsupported }

func unsupported(format string, args ...any) error {
	return &unsupportedError{fmt.Sprintf(format, args...)}
}

// NodeError is an import error located at one node.
type NodeError struct {
	Index  int    // position in graph.node
	Name   string // the node's name, may be empty
	OpType string
	Opset  int
	Err    error
}

func (e *NodeError) Error() string {
	name := ""
	if e.Name != "" {
		name = fmt.Sprintf(" %q", e.Name)
	}
	return fmt.Sprintf("node %d%s (%s, opset %d): %v", e.Index, name, e.OpType, e.Opset, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

// NeedsValueError says that a graph input feeds something the importer
// must know at import time (a shape, axes, split sizes, clip bounds):
// pass its value in Options.Bind to import the model specialised to it.
type NeedsValueError struct {
	Input string // the graph input
	Use   string // what the value is for
}

func (e *NeedsValueError) Error() string {
	return fmt.Sprintf("%s comes from graph input %q, which is only known at run time; the IR needs it at build time: bind the input to its value (modelc build --bind %s=V,V,… or model.yaml's source: {onnx: FILE, bind: {%s: [V, …]}})", e.Use, e.Input, e.Input, e.Input)
}
