package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/internal/limits"
)

// Model-local functions (ModelProto.functions, which newer exporters
// write for every module) are inlined before import: a node calling one
// is replaced by the function's body, its formal inputs and outputs
// renamed to the node's actual ones, its other values prefixed with the
// node's position so they stay distinct, and attributes that refer to
// the function's (ref_attr_name) given the node's value or the
// function's default. Functions may call functions, to a depth of
// maxInlineDepth. Inlining is bounded by the work it does: a few bytes of
// functions calling functions ten times each would expand to 10³² nodes,
// so every node met (calls included) counts against limits.Layers, checked
// before each body is copied.

const maxInlineDepth = 32

type funcKey struct{ domain, name, overload string }

// inlineFunctions returns the graph's nodes with every call of a
// model-local function expanded.
func inlineFunctions(m *onnxpb.ModelProto) ([]*onnxpb.NodeProto, error) {
	if len(m.Functions) == 0 {
		return m.Graph.Node, nil
	}
	fns := map[funcKey]*onnxpb.FunctionProto{}
	for _, f := range m.Functions {
		k := funcKey{f.GetDomain(), f.GetName(), f.GetOverload()}
		if fns[k] != nil {
			return nil, fmt.Errorf("function %s:%s defined twice", k.domain, k.name)
		}
		fns[k] = f
	}
	var out []*onnxpb.NodeProto
	met := len(m.Graph.Node)
	var expand func(nodes []*onnxpb.NodeProto, prefix string, depth int) error
	expand = func(nodes []*onnxpb.NodeProto, prefix string, depth int) error {
		for i, n := range nodes {
			f := fns[funcKey{n.GetDomain(), n.GetOpType(), n.GetOverload()}]
			if f == nil {
				out = append(out, n)
				continue
			}
			if depth >= maxInlineDepth {
				return fmt.Errorf("function %s calls functions more than %d deep (recursion?)", f.GetName(), maxInlineDepth)
			}
			if met += len(f.Node); met > limits.Layers {
				return fmt.Errorf("the graph has more than %d nodes with its functions inlined, over the limit of %d (limits.Layers)", limits.Layers, limits.Layers)
			}
			body, err := instantiate(f, n, fmt.Sprintf("%s%s/%d/", prefix, f.GetName(), i))
			if err != nil {
				return fmt.Errorf("node %q calling function %s: %w", n.GetName(), f.GetName(), err)
			}
			if err := expand(body, fmt.Sprintf("%s%d/", prefix, i), depth+1); err != nil {
				if depth == 0 { // name the graph's node, not one inside a body
					err = fmt.Errorf("node %q calling function %s: %w", n.GetName(), f.GetName(), err)
				}
				return err
			}
		}
		return nil
	}
	if err := expand(m.Graph.Node, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// instantiate copies f's body for the call n.
func instantiate(f *onnxpb.FunctionProto, n *onnxpb.NodeProto, prefix string) ([]*onnxpb.NodeProto, error) {
	if len(n.Input) > len(f.Input) || len(n.Output) > len(f.Output) {
		return nil, fmt.Errorf("called with %d inputs and %d outputs; it takes %d and gives %d", len(n.Input), len(n.Output), len(f.Input), len(f.Output))
	}
	rename := map[string]string{}
	for i, formal := range f.Input {
		actual := ""
		if i < len(n.Input) {
			actual = n.Input[i]
		}
		rename[formal] = actual
	}
	for i, formal := range f.Output {
		actual := ""
		if i < len(n.Output) {
			actual = n.Output[i]
		}
		if actual == "" {
			actual = prefix + formal
		}
		rename[formal] = actual
	}
	name := func(s string) string {
		if s == "" {
			return ""
		}
		if r, ok := rename[s]; ok {
			return r
		}
		return prefix + s
	}
	attrs := map[string]*onnxpb.AttributeProto{}
	for _, a := range f.AttributeProto { // defaults
		attrs[a.GetName()] = a
	}
	for _, a := range n.Attribute {
		attrs[a.GetName()] = a
	}
	var body []*onnxpb.NodeProto
	for _, bn := range f.Node {
		c := proto.Clone(bn).(*onnxpb.NodeProto)
		for i, s := range c.Input {
			c.Input[i] = name(s)
		}
		for i, s := range c.Output {
			c.Output[i] = name(s)
		}
		c.Name = proto.String(prefix + bn.GetName())
		var kept []*onnxpb.AttributeProto
		for _, a := range c.Attribute {
			ref := a.GetRefAttrName()
			if ref == "" {
				kept = append(kept, a)
				continue
			}
			v := attrs[ref]
			if v == nil {
				continue // an optional attribute the call leaves unset
			}
			r := proto.Clone(v).(*onnxpb.AttributeProto)
			r.Name = proto.String(a.GetName())
			kept = append(kept, r)
		}
		c.Attribute = kept
		for _, a := range c.Attribute {
			if a.G != nil || len(a.Graphs) > 0 {
				return nil, unsupported("a function body with subgraphs")
			}
		}
		body = append(body, c)
	}
	return body, nil
}
