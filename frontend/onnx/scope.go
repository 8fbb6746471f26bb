package onnx

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/modelc/modelc/frontend/onnx/onnxpb"
)

// What modelc does not compile, on purpose: ONNX that is valid but outside
// an inference compiler for static dataflow graphs. The importer refuses
// each with an "unsupported" error saying why (never "unknown op"), the
// node tests count them out of scope (InScope), and docs/onnx-node-tests.md
// lists the table.

// A Family is a group of out-of-scope ONNX constructs and the reason.
type Family struct {
	Name string // short, as the docs' table heads it
	Why  string // the sentence an error carries
}

// The families.
var (
	famTraining = Family{"training and loss", "training and loss operators compute gradients, optimiser steps or losses; modelc compiles inference graphs"}
	famRandom   = Family{"random generators", "random generators make nondeterministic data; compiled inference is deterministic"}
	famString   = Family{"strings and image decoding", "string and image-decoding operators work on text and encoded bytes, not tensors of numbers"}
	famSequence = Family{"sequence, optional and map types", "sequences, optionals and maps are not tensors; the IR's values are tensors of static shape"}
	famControl  = Family{"control flow", "control flow (If, Loop, Scan) runs subgraphs chosen or repeated at run time; the IR is one static dataflow graph"}
	famSignal   = Family{"signal processing", "DFT, STFT and window generators belong to signal-processing pipelines, not to the deployed models modelc targets"}
	famDataDep  = Family{"data-dependent shapes", "the output's shape depends on the input values; the IR needs every shape at build time"}
	famLowBits  = Family{"sub-byte and 8-bit float types", "float8, float4, int4 and int2 element types have no storage in the IR"}
)

// FamilyTraining and FamilyLowBits are the families the node tests also
// assign by a test's name (training-mode variants, low-bit types).
var (
	FamilyTraining = famTraining
	FamilyLowBits  = famLowBits
)

// outOfScope maps op types of the default domain to their family.
var outOfScope = map[string]Family{
	"NegativeLogLikelihoodLoss": famTraining, "SoftmaxCrossEntropyLoss": famTraining,
	"Adagrad": famTraining, "Adam": famTraining, "Momentum": famTraining, "Gradient": famTraining,

	"RandomNormal": famRandom, "RandomNormalLike": famRandom, "RandomUniform": famRandom,
	"RandomUniformLike": famRandom, "Multinomial": famRandom, "Bernoulli": famRandom,

	"StringNormalizer": famString, "StringConcat": famString, "StringSplit": famString,
	"RegexFullMatch": famString, "TfIdfVectorizer": famString, "ImageDecoder": famString,

	"SequenceAt": famSequence, "SequenceConstruct": famSequence, "SequenceEmpty": famSequence,
	"SequenceErase": famSequence, "SequenceInsert": famSequence, "SequenceLength": famSequence,
	"SequenceMap": famSequence, "SplitToSequence": famSequence, "ConcatFromSequence": famSequence,
	"Optional": famSequence, "OptionalGetElement": famSequence, "OptionalHasElement": famSequence,

	"If": famControl, "Loop": famControl, "Scan": famControl,

	"DFT": famSignal, "STFT": famSignal, "HannWindow": famSignal, "HammingWindow": famSignal,
	"BlackmanWindow": famSignal, "MelWeightMatrix": famSignal,

	"NonZero": famDataDep, "Unique": famDataDep, "Compress": famDataDep, "NonMaxSuppression": famDataDep,
}

// outOfScopeDomains maps op domains wholly out of scope to their family.
var outOfScopeDomains = map[string]Family{
	"ai.onnx.preview.training": famTraining,
}

// lowBitName matches the names of tests and types of the sub-byte and
// 8-bit float element types.
var lowBitName = regexp.MustCompile(`(?i)float8|float4|e4m3|e5m2|e2m1|e8m0|fnuz|(^|_)u?int[24]($|_)`)

// OutOfScope reports whether an op type of a domain is out of scope, and
// why.
func OutOfScope(domain, opType string) (Family, bool) {
	if f, ok := outOfScopeDomains[domain]; ok {
		return f, true
	}
	if domain != "" && domain != "ai.onnx" {
		return Family{}, false
	}
	f, ok := outOfScope[opType]
	return f, ok
}

// OutOfScopeTable lists every out-of-scope family with its op types, for
// the docs.
func OutOfScopeTable() map[Family][]string {
	t := map[Family][]string{}
	for op, f := range outOfScope {
		t[f] = append(t[f], op)
	}
	for d, f := range outOfScopeDomains {
		t[f] = append(t[f], "every op of domain "+d)
	}
	t[famSequence] = append(t[famSequence], "sequence, optional and map inputs and outputs")
	t[famString] = append(t[famString], "string tensors")
	t[famLowBits] = append(t[famLowBits], "FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1, INT4, UINT4, INT2, UINT2")
	for _, ops := range t {
		sort.Strings(ops)
	}
	return t
}

// outOfScopeType reports the family of an element type outside the IR.
func outOfScopeType(code int32) (Family, bool) {
	if code == 8 { // STRING
		return famString, true
	}
	if lowBitName.MatchString(dtypeName(code)) {
		return famLowBits, true
	}
	return Family{}, false
}

// LowBitName reports whether a test or type name names a float8, float4,
// int4 or int2 type (the node tests count those out of scope by name).
func LowBitName(s string) bool { return lowBitName.MatchString(s) }

func outOfScopeError(f Family, what string) error {
	return unsupported("%s: out of scope (%s): %s", what, f.Name, f.Why)
}

// ModelOutOfScope reports whether a model uses anything out of scope: an
// out-of-scope op in its graph, subgraphs or functions, or a graph input
// or output that is not a tensor, or a tensor of strings or of a low-bit
// type.
func ModelOutOfScope(m *onnxpb.ModelProto) (Family, bool) {
	f, _, ok := modelOutOfScope(m)
	return f, ok
}

// modelOutOfScope is ModelOutOfScope, also naming what it found.
func modelOutOfScope(m *onnxpb.ModelProto) (Family, string, bool) {
	var found *Family
	what := ""
	var walk func(nodes []*onnxpb.NodeProto)
	walk = func(nodes []*onnxpb.NodeProto) {
		for _, n := range nodes {
			if f, ok := OutOfScope(n.GetDomain(), n.GetOpType()); ok && found == nil {
				found, what = &f, fmt.Sprintf("op type %s (node %q)", n.GetOpType(), n.GetName())
			}
			for _, a := range n.Attribute {
				if a.G != nil {
					walk(a.G.Node)
				}
				for _, g := range a.Graphs {
					walk(g.Node)
				}
			}
		}
	}
	if m.Graph != nil {
		walk(m.Graph.Node)
	}
	for _, fn := range m.Functions {
		walk(fn.Node)
	}
	if found != nil {
		return *found, what, true
	}
	if m.Graph == nil {
		return Family{}, "", false
	}
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, m.Graph.Input...), m.Graph.Output...) {
		tt := vi.GetType().GetTensorType()
		if vi.GetType().GetValue() != nil && tt == nil {
			return famSequence, fmt.Sprintf("graph input or output %q, a %s", vi.GetName(), typeKind(vi.GetType())), true
		}
		if tt == nil {
			continue
		}
		if f, ok := outOfScopeType(tt.GetElemType()); ok {
			return f, fmt.Sprintf("graph input or output %q of element type %s", vi.GetName(), dtypeName(tt.GetElemType())), true
		}
	}
	return Family{}, "", false
}
