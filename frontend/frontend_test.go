package frontend_test

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
)

// writeModel writes src as DIR/model.yaml in a fresh directory and returns
// the file's path.
func writeModel(t *testing.T, src string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "model.yaml")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	return file
}

// irText prints g with every constant reduced to its name and type, so
// that the expected text does not depend on the seeded data.
func irText(t *testing.T, g *ir.Graph) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, ir.Fprint(&b, g))
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  const ") {
			lines[i], _, _ = strings.Cut(l, " = ")
		}
	}
	return strings.Join(lines, "\n")
}

// requireRuns verifies the graph and evaluates it at batch 2.
func requireRuns(t *testing.T, g *ir.Graph) []*ir.Tensor {
	t.Helper()
	require.NoError(t, ir.Verify(g))
	outs, err := ir.Eval(g, ir.SampleInputs(g, 2, 1)...)
	require.NoError(t, err)
	require.Len(t, outs, len(g.Outputs))
	return outs
}

func constNames(g *ir.Graph) []string {
	var names []string
	for _, c := range g.Consts {
		names = append(names, c.Name)
	}
	return names
}

func constByName(t *testing.T, g *ir.Graph, name string) *ir.Tensor {
	t.Helper()
	for _, c := range g.Consts {
		if c.Name == name {
			return c.Const
		}
	}
	t.Fatalf("no constant %q (have %v)", name, constNames(g))
	return nil
}

func nodeByName(t *testing.T, g *ir.Graph, name string) *ir.Node {
	t.Helper()
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node @%s", name)
	return nil
}

// allLayers uses every layer kind the schema has special code for, and a
// few generic ops, in one small graph.
const allLayers = `name: tiny
inputs:
  - {name: x, shape: [N, 3, 8, 8]}
  - {name: ids, shape: [N, 4], dtype: i64}
init: {seed: 1}
outputs: [out, e]
blocks:
  mlp:
    - linear: {name: fc1, features: $hidden}
    - gelu:
    - linear: {name: fc2, features: 6, out: y}
    - add: {in: [$in, y]}
graph:
  - conv2d: {name: c1, in: x, filters: 4, kernel: 3, pad: 1}
  - conv2d: {name: c2, filters: 4, kernel: [3, 1], pad: [1, 0]}
  - conv2d: {name: c3, filters: 4, kernel: 2, pad: [0, 0, 1, 1], groups: 2}
  - batchnorm: {name: bn}
  - maxpool: {kernel: 2}
  - avgpool: {kernel: 2, out: p}
  - reshape: {shape: [N, -1]}
  - linear: {name: proj, features: 6, out: feat}
  - embedding: {name: tok, in: ids, vocab: 10, dim: 6, out: e}
  - layernorm: {name: ln}
  - attention: {name: attn, heads: 2, causal: true, out: a}
  - param: {name: pos, shape: [1, 4, 6]}
  - add: {in: [a, pos], out: h}
  - split: {in: h, axis: 1, sizes: [1, 3], out: [first, rest]}
  - concat: {in: [rest, first], axis: 1}
  - transpose: {perm: [0, 2, 1]}
  - slice: {starts: [0], ends: [2], axes: [2]}
  - pad: {pads: [0, 0, 0, 0, 0, 2]}
  - reshape: {shape: [N, 24]}
  - linear: {name: down, features: 6}
  - repeat: {block: mlp, times: 2, name: "blocks.{i}", args: {hidden: 12}, out: prev}
  - add: {in: [feat, prev], out: out}
`

const allLayersIR = `graph tiny {
  input %x: f32[N,3,8,8]
  input %ids: i64[N,4]
  const %c1.weight: f32[4,3,3,3]
  const %c1.bias: f32[4]
  const %c2.weight: f32[4,4,3,1]
  const %c2.bias: f32[4]
  const %c3.weight: f32[4,2,2,2]
  const %c3.bias: f32[4]
  const %bn.weight: f32[4]
  const %bn.bias: f32[4]
  const %bn.running_mean: f32[4]
  const %bn.running_var: f32[4]
  const %proj.weight: f32[6,16]
  const %proj.bias: f32[6]
  const %tok.weight: f32[10,6]
  const %ln.weight: f32[6]
  const %ln.bias: f32[6]
  const %attn.qkv.weight: f32[18,6]
  const %attn.qkv.bias: f32[18]
  const %attn.proj.weight: f32[6,6]
  const %attn.proj.bias: f32[6]
  const %pos: f32[1,4,6]
  const %down.weight: f32[6,24]
  const %down.bias: f32[6]
  const %blocks.0.fc1.weight: f32[12,6]
  const %blocks.0.fc1.bias: f32[12]
  const %blocks.0.fc2.weight: f32[6,12]
  const %blocks.0.fc2.bias: f32[6]
  const %blocks.1.fc1.weight: f32[12,6]
  const %blocks.1.fc1.bias: f32[12]
  const %blocks.1.fc2.weight: f32[6,12]
  const %blocks.1.fc2.bias: f32[6]
  %c1 = conv2d @c1 (%x, %c1.weight, %c1.bias) {pad=[1,1,1,1]}: f32[N,4,8,8]
  %c2 = conv2d @c2 (%c1, %c2.weight, %c2.bias) {pad=[1,0,1,0]}: f32[N,4,8,8]
  %c3 = conv2d @c3 (%c2, %c3.weight, %c3.bias) {pad=[0,0,1,1], groups=2}: f32[N,4,8,8]
  %bn = batchnorm @bn (%c3, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var): f32[N,4,8,8]
  %maxpool = maxpool (%bn) {kernel=[2,2], stride=[2,2]}: f32[N,4,4,4]
  %p = avgpool (%maxpool) {kernel=[2,2], stride=[2,2]}: f32[N,4,2,2]
  %reshape = reshape (%p) {shape=[N,16]}: f32[N,16]
  %feat = linear @proj (%reshape, %proj.weight, %proj.bias): f32[N,6]
  %e = embedding @tok (%ids, %tok.weight): f32[N,4,6]
  %ln = layernorm @ln (%e, %ln.weight, %ln.bias): f32[N,4,6]
  %attn.qkv = linear @attn.qkv (%ln, %attn.qkv.weight, %attn.qkv.bias): f32[N,4,18]
  %split, %split.1, %split.2 = split (%attn.qkv) {axis=-1, sizes=[6,6,6]}: f32[N,4,6], f32[N,4,6], f32[N,4,6]
  %attn = attention @attn (%split, %split.1, %split.2) {heads=2, causal=true, scale=0.5773502691896258}: f32[N,4,6]
  %a = linear @attn.proj (%attn, %attn.proj.weight, %attn.proj.bias): f32[N,4,6]
  %h = add (%a, %pos): f32[N,4,6]
  %first, %rest = split (%h) {axis=1, sizes=[1,3]}: f32[N,1,6], f32[N,3,6]
  %concat = concat (%rest, %first) {axis=1}: f32[N,4,6]
  %transpose = transpose (%concat) {perm=[0,2,1]}: f32[N,6,4]
  %slice = slice (%transpose) {starts=[0], ends=[2], axes=[2]}: f32[N,6,2]
  %pad = pad (%slice) {pads=[0,0,0,0,0,2]}: f32[N,6,4]
  %reshape.1 = reshape (%pad) {shape=[N,24]}: f32[N,24]
  %down = linear @down (%reshape.1, %down.weight, %down.bias): f32[N,6]
  %blocks.0.fc1 = linear @blocks.0.fc1 (%down, %blocks.0.fc1.weight, %blocks.0.fc1.bias): f32[N,12]
  %gelu = gelu (%blocks.0.fc1): f32[N,12]
  %blocks.0/y = linear @blocks.0.fc2 (%gelu, %blocks.0.fc2.weight, %blocks.0.fc2.bias): f32[N,6]
  %add.1 = add (%down, %blocks.0/y): f32[N,6]
  %blocks.1.fc1 = linear @blocks.1.fc1 (%add.1, %blocks.1.fc1.weight, %blocks.1.fc1.bias): f32[N,12]
  %gelu.1 = gelu (%blocks.1.fc1): f32[N,12]
  %blocks.1/y = linear @blocks.1.fc2 (%gelu.1, %blocks.1.fc2.weight, %blocks.1.fc2.bias): f32[N,6]
  %prev = add (%add.1, %blocks.1/y): f32[N,6]
  %out = add (%feat, %prev): f32[N,6]
  output %out, %e
}
`

func TestLoadGood(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, m *frontend.Model)
	}{
		{
			name: "every layer kind",
			yaml: allLayers,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, allLayersIR, irText(t, m.Graph))
				outs := requireRuns(t, m.Graph)
				require.Equal(t, []int{2, 6}, outs[0].Shape)
				require.Equal(t, []int{2, 4, 6}, outs[1].Shape)
				require.Equal(t, "tiny", m.Name)
				require.Equal(t, "tiny", m.Package)
				require.Equal(t, uint64(1), m.Seed)
			},
		},
		{
			name: "conv2d pads: int, [h, w], [top, left, bottom, right]",
			yaml: `name: pads
inputs: [{name: x, shape: [N, 2, 6, 6]}]
init: {seed: 3}
graph:
  - conv2d: {name: a, filters: 2, kernel: 3, pad: 2, stride: 2, bias: false}
  - conv2d: {name: b, filters: 2, kernel: [3, 1], pad: [1, 0], dilation: [1, 2]}
  - conv2d: {name: c, filters: 4, kernel: 1, pad: [0, 1, 2, 3], groups: 2}
`,
			check: func(t *testing.T, m *frontend.Model) {
				a := nodeByName(t, m.Graph, "a").Op.(*ir.Conv2D)
				require.Equal(t, []int{2, 2, 2, 2}, a.Pad)
				require.Equal(t, []int{2, 2}, a.Stride)
				require.Len(t, nodeByName(t, m.Graph, "a").Inputs, 2, "bias: false")
				b := nodeByName(t, m.Graph, "b").Op.(*ir.Conv2D)
				require.Equal(t, []int{1, 0, 1, 0}, b.Pad)
				require.Equal(t, []int{1, 2}, b.Dilation)
				c := nodeByName(t, m.Graph, "c")
				require.Equal(t, []int{0, 1, 2, 3}, c.Op.(*ir.Conv2D).Pad)
				require.Equal(t, 2, c.Op.(*ir.Conv2D).Groups)
				require.Equal(t, []int{4, 1, 1, 1}, constByName(t, m.Graph, "c.weight").Shape)
				require.Equal(t, "f32[N,4,6,8]", ir.FormatType(c.Outputs[0].Type))
				require.Equal(t, []string{"a.weight", "b.weight", "b.bias", "c.weight", "c.bias"}, constNames(m.Graph))
				requireRuns(t, m.Graph)
			},
		},
		{
			name: "phm_linear and phc_conv2d bind their factors",
			yaml: `name: phm
inputs: [{name: x, shape: [N, 4, 6, 6]}]
init: {seed: 3}
graph:
  - phc_conv2d: {name: c, filters: 8, kernel: 3, pad: 1, stride: 2, n: 2, bias: false}
  - global_avgpool:
  - flatten: {axis: 1}
  - phm_linear: {name: fc, features: 12, n: 4}
`,
			check: func(t *testing.T, m *frontend.Model) {
				c := nodeByName(t, m.Graph, "c")
				require.Equal(t, []int{1, 1, 1, 1}, c.Op.(*ir.PHCConv2D).Pad)
				require.Equal(t, []int{2, 2}, c.Op.(*ir.PHCConv2D).Stride)
				require.Equal(t, "f32[N,8,3,3]", ir.FormatType(c.Outputs[0].Type))
				require.Equal(t, []int{2, 2, 2}, constByName(t, m.Graph, "c.A").Shape)
				require.Equal(t, []int{2, 4, 2, 3, 3}, constByName(t, m.Graph, "c.F").Shape)
				fc := nodeByName(t, m.Graph, "fc")
				require.Equal(t, ir.KPHMLinear, fc.Op.Kind())
				require.Equal(t, []int{4, 4, 4}, constByName(t, m.Graph, "fc.A").Shape)
				require.Equal(t, []int{4, 3, 2}, constByName(t, m.Graph, "fc.F").Shape)
				require.Equal(t, []string{"c.A", "c.F", "fc.A", "fc.F", "fc.bias"}, constNames(m.Graph))
				require.Equal(t, []int{2, 12}, requireRuns(t, m.Graph)[0].Shape)
			},
		},
		{
			name: "pooling with int kernel, stride defaulting to the kernel",
			yaml: `name: pool
inputs: [{name: x, shape: [N, 1, 8, 8]}]
init: {seed: 1}
graph:
  - maxpool: {kernel: 2}
  - avgpool: {kernel: 3, stride: 1, pad: 1}
  - maxpool: {kernel: [2, 4], stride: [2, 4]}
`,
			check: func(t *testing.T, m *frontend.Model) {
				g := m.Graph
				require.Equal(t, []int{2, 2}, g.Nodes[0].Op.(*ir.MaxPool).Stride)
				require.Equal(t, []int{1, 1, 1, 1}, g.Nodes[1].Op.(*ir.AvgPool).Pad)
				require.Equal(t, "f32[N,1,2,1]", ir.FormatType(g.Outputs[0].Type))
				require.Empty(t, g.Consts)
				requireRuns(t, g)
			},
		},
		{
			name: "N-D pooling, stride defaulting to the kernel",
			yaml: `name: pool3d
inputs: [{name: x, shape: [N, 2, 4, 6, 8]}]
init: {seed: 1}
graph:
  - maxpool_nd: {kernel: [2, 2, 2]}
  - avgpool_nd: {kernel: [1, 3, 2], stride: [1, 1, 2], pad: [0, 1, 0, 0, 1, 0], count_include_pad: true}
`,
			check: func(t *testing.T, m *frontend.Model) {
				g := m.Graph
				require.Equal(t, []int{2, 2, 2}, g.Nodes[0].Op.(*ir.MaxPoolND).Stride)
				require.Equal(t, "f32[N,2,2,3,2]", ir.FormatType(g.Outputs[0].Type))
				requireRuns(t, g)
			},
		},
		{
			name: "reshape with -1 and N",
			yaml: `name: reshape
inputs: [{name: x, shape: [N, 2, 6]}]
init: {seed: 1}
outputs: [a, b, c, d]
graph:
  - reshape: {in: x, shape: [N, -1], out: a}
  - reshape: {in: x, shape: [-1, 4], out: b}
  - reshape: {in: x, shape: [-1, N, 3], out: c}
  - reshape: {in: x, shape: [2N, 6], out: d}
`,
			check: func(t *testing.T, m *frontend.Model) {
				var got []string
				for _, v := range m.Graph.Outputs {
					got = append(got, ir.FormatType(v.Type))
				}
				require.Equal(t, []string{"f32[N,12]", "f32[3N,4]", "f32[4,N,3]", "f32[2N,6]"}, got)
				outs := requireRuns(t, m.Graph)
				require.Equal(t, []int{6, 4}, outs[1].Shape)
			},
		},
		{
			name: "embedding on an i64 input, layernorm, attention",
			yaml: `name: gpt
inputs: [{name: tokens, shape: [N, 5], dtype: i64}]
init: {seed: 1}
graph:
  - embedding: {name: tok, vocab: 7, dim: 8}
  - layernorm: {name: ln, eps: 1e-6}
  - attention: {name: attn, heads: 2, causal: true, scale: 0.5}
  - linear: {name: head, features: 7, bias: false, out: logits}
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, ir.I64, m.Graph.Inputs[0].Type.DType)
				at := nodeByName(t, m.Graph, "attn").Op.(*ir.Attention)
				require.Equal(t, ir.Attention{Heads: 2, Causal: true, Scale: 0.5}, *at)
				require.Equal(t, 1e-6, nodeByName(t, m.Graph, "ln").Op.(*ir.LayerNorm).Eps)
				require.Equal(t, []string{"tok.weight", "ln.weight", "ln.bias",
					"attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias", "head.weight"},
					constNames(m.Graph))
				require.Equal(t, "logits", m.Graph.Outputs[0].Name)
				outs := requireRuns(t, m.Graph)
				require.Equal(t, []int{2, 5, 7}, outs[0].Shape)
			},
		},
		{
			name: "blocks, repeat with from, block with args, $out",
			yaml: `name: res
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 1}
blocks:
  mlp:
    - linear: {name: fc1, features: $hidden}
    - relu:
    - linear: {name: fc2, features: 4, out: y}
    - add: {in: [$in, y], out: $out}
  plain:
    - linear: {name: fc, features: $d, bias: $bias}
graph:
  - repeat: {block: mlp, times: 2, name: "blocks.{i}", args: {hidden: 8}, out: r}
  - repeat: {block: mlp, times: 1, from: 5, name: "late.{i}", args: {hidden: 3}}
  - block: {use: plain, name: head, args: {d: 2, bias: false}, out: logits}
  - add: {in: [r, r], out: twice}
outputs: [logits, twice]
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, []string{
					"blocks.0.fc1.weight", "blocks.0.fc1.bias", "blocks.0.fc2.weight", "blocks.0.fc2.bias",
					"blocks.1.fc1.weight", "blocks.1.fc1.bias", "blocks.1.fc2.weight", "blocks.1.fc2.bias",
					"late.5.fc1.weight", "late.5.fc1.bias", "late.5.fc2.weight", "late.5.fc2.bias",
					"head.fc.weight",
				}, constNames(m.Graph))
				require.Equal(t, []int{8, 4}, constByName(t, m.Graph, "blocks.1.fc1.weight").Shape)
				require.Equal(t, []int{3, 4}, constByName(t, m.Graph, "late.5.fc1.weight").Shape)
				require.Equal(t, []int{2, 4}, constByName(t, m.Graph, "head.fc.weight").Shape)
				// $out names the last instance's result in the outer scope.
				twice := m.Graph.Outputs[1]
				require.Equal(t, "twice", twice.Name)
				require.Equal(t, "r", twice.Def.Inputs[0].Name)
				require.Equal(t, "logits", m.Graph.Outputs[0].Name)
				require.Equal(t, "head.fc", m.Graph.Outputs[0].Def.Name)
				requireRuns(t, m.Graph)
			},
		},
		{
			name: "params: prefix and a block default name",
			yaml: `name: prefix
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 1}
blocks:
  b: [{linear: {name: fc, features: 4}}]
graph:
  - linear: {name: enc, params: encoder.0, features: 4}
  - block: {use: b}
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, []string{"encoder.0.weight", "encoder.0.bias", "b.0.fc.weight", "b.0.fc.bias"}, constNames(m.Graph))
				require.Equal(t, "enc", m.Graph.Nodes[0].Name)
				requireRuns(t, m.Graph)
			},
		},
		{
			name: "top-level fields: package, passes, exclude_passes, targets, test with 1e-4 and labels, calibration",
			yaml: `name: My-Model 2
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 0}
passes: [bn-fold, {attention-drop: {drop: 2}}, {kronecker: }]
targets: [amd64, arm64, cuda]
test: {inputs: tx.npy, outputs: ty.npy, labels: tl.npy, rtol: 1e-4}
calibration: {inputs: [c.npy], labels: l.npy}
exclude_passes: [bn-fold, other]
graph: [{relu: }]
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, "mymodel2", m.Package)
				require.Equal(t, uint64(0), m.Seed)
				require.Len(t, m.Passes, 3)
				require.Equal(t, "bn-fold", m.Passes[0].Name)
				require.Equal(t, "attention-drop", m.Passes[1].Name)
				require.Equal(t, map[string]any{"drop": int64(2)}, m.Passes[1].Options)
				require.Equal(t, 4, m.Passes[1].Line)
				require.Equal(t, map[string][2]int{"drop": {4, 43}}, m.Passes[1].OptionPos)
				require.Equal(t, []frontend.PassSpec{{Name: "bn-fold", Line: 8, Col: 18}, {Name: "other", Line: 8, Col: 27}}, m.ExcludePasses)
				require.Equal(t, []string{"tl.npy"}, m.Test.Labels)
				require.Equal(t, "kronecker", m.Passes[2].Name)
				require.Equal(t, []string{"amd64", "arm64", "cuda"}, m.Targets)
				require.Equal(t, 1e-4, m.Test.Rtol)
				require.Equal(t, []string{"tx.npy"}, m.Test.Inputs)
				require.Equal(t, []string{"ty.npy"}, m.Test.Outputs)
				require.Equal(t, 6, m.Test.Line)
				require.Equal(t, "top1", m.Calibration.Metric)
				require.Equal(t, []string{"l.npy"}, m.Calibration.Labels)
				require.Equal(t, 7, m.Calibration.Line)
				require.Equal(t, 14, m.Calibration.Col)
				requireRuns(t, m.Graph)
			},
		},
		{
			name: "twin_of, configurations in source order, max_metric_drop with calibration",
			yaml: `name: t
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 0}
calibration: {inputs: c.npy, labels: l.npy, metric: top1}
twin_of: mlp
configurations:
  none: {exclude_passes: [bn-fold]}
  int8: [bn-fold, {quantize: {bits: [8], max_metric_drop: 0.01}}]
  drop-1: [{attention-drop: {drop: 1}}]
graph: [{relu: }]
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, []string{"mlp"}, m.TwinOf)
				require.Len(t, m.Configurations, 3)
				require.Equal(t, "none", m.Configurations[0].Name)
				require.Empty(t, m.Configurations[0].Passes)
				require.Equal(t, []frontend.PassSpec{{Name: "bn-fold", Line: 7, Col: 27}}, m.Configurations[0].ExcludePasses)
				c := m.Configurations[1]
				require.Equal(t, "int8", c.Name)
				require.Equal(t, 8, c.Line)
				require.Equal(t, 3, c.Col)
				require.Len(t, c.Passes, 2)
				require.Equal(t, "quantize", c.Passes[1].Name)
				require.Equal(t, map[string]any{"bits": []any{int64(8)}, "max_metric_drop": 0.01}, c.Passes[1].Options)
				require.Equal(t, "drop-1", m.Configurations[2].Name)
				require.Equal(t, map[string]any{"drop": int64(1)}, m.Configurations[2].Passes[0].Options)
				require.Empty(t, m.Passes)
			},
		},
		{
			name: "rtol written 1e-3, 1E-5 and 0.001",
			yaml: `name: r
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 1}
test: {inputs: a.npy, outputs: b.npy, rtol: 1E-5}
graph: [{relu: }]
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, 1e-5, m.Test.Rtol)
			},
		},
		{
			name: "default rtol, block-style YAML, comments",
			yaml: `# a comment
name: r
inputs:
  - name: x
    shape: [N, 4]
    dtype: f32
init:
  seed: 1
test:
  inputs: a.npy
  outputs: b.npy
graph:
  - linear:
      name: fc
      features: 2
  - softmax: {axis: -1}
`,
			check: func(t *testing.T, m *frontend.Model) {
				require.Equal(t, 1e-4, m.Test.Rtol)
				require.Equal(t, []int{2, 4}, constByName(t, m.Graph, "fc.weight").Shape)
				requireRuns(t, m.Graph)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := frontend.Load(writeModel(t, tc.yaml), frontend.Options{})
			require.NoError(t, err)
			tc.check(t, m)
		})
	}
}

// requirePosError checks that err reads "FILE:POS: ..." and contains msg.
func requirePosError(t *testing.T, err error, file, pos, msg string) {
	t.Helper()
	require.Error(t, err)
	prefix := file + ":" + pos + ": "
	require.True(t, strings.HasPrefix(err.Error(), prefix), "want prefix %q, got:\n%v", prefix, err)
	require.Contains(t, err.Error(), msg)
}

// head is three lines; a graph: starting on line 4 has its first layer on
// line 5.
const head = `name: t
inputs: [{name: x, shape: [N, 4]}]
init: {seed: 1}
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		pos, msg   string
	}{
		// YAML itself.
		{"syntax: unclosed flow list", "name: t\ninputs: [{name: x, shape: [N, 4]}\ninit: {seed: 1}\n", "3:1", "']'"},
		{"syntax: tab indentation", head + "graph:\n\t- relu:\n", "5:1", "cannot start any token"},
		{"duplicate key", head + "name: u\ngraph: [{relu: }]\n", "4:1", `"name" already defined`},
		{"empty file", "# nothing\n", "1:1", "want exactly one YAML document with a mapping"},
		{"two documents", head + "graph: [{relu: }]\n---\nname: u\n", "1:1", "want exactly one YAML document"},
		{"not a mapping", "[1, 2]\n", "1:1", "model: want a mapping, got a list"},
		{"anchor", "name: t\ninputs: &a [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:9", "anchors and aliases are not supported"},
		{"tag", "name: t\ninputs: [{name: x, shape: [N, 4]}]\ninit: !!map {seed: 1}\ngraph: [{relu: }]\n", "3:7", "YAML tags are not supported"},

		// Top level.
		{"unknown top-level key", head + "bogus: 3\ngraph: [{relu: }]\n", "4:1",
			`model: unknown key "bogus" (want one of blocks, calibration, configurations, exclude_passes, graph, init, inputs, name, outputs, package, passes, source, targets, test, twin_of, weights)`},
		{"missing name", "inputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "1:7", "model: missing name"},
		{"bad package", head + "package: my-pkg\ngraph: [{relu: }]\n", "4:10", `package "my-pkg" is not a Go identifier (letters, digits and _, not starting with a digit); try mypkg`},
		{"keyword package", head + "package: func\ngraph: [{relu: }]\n", "4:10", "package func is reserved in Go (a keyword, or main, which cannot be imported); try funcmodel"},
		{"blank package", head + "package: _\ngraph: [{relu: }]\n", "4:10", "package _ is the blank identifier, which cannot name a package; try model"},
		{"main package", head + "package: main\ngraph: [{relu: }]\n", "4:10", "try mainmodel"},
		{"onnx source with inputs", head + "source: {onnx: m.onnx}\ngraph: [{relu: }]\n", "2:9", "inputs: not with source: the ONNX file gives the graph"},
		{"missing inputs", "name: t\ninit: {seed: 1}\ngraph: [{relu: }]\n", "1:5", "inputs: want a list"},
		{"missing graph", head, "1:5", "graph: want a list of layers"},
		{"empty graph", head + "graph: []\n", "4:8", "graph: want a list of layers"},
		{"unknown dtype", "name: t\ninputs: [{name: x, shape: [N, 4], dtype: f99}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:42", `input: unknown dtype "f99"`},
		{"input shape not a list", "name: t\ninputs: [{name: x, shape: 4}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:10", "shape: want a list like [N, 3, 32, 32]"},
		{"input dim not affine in N", "name: t\ninputs: [{name: x, shape: [N, M]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", `input: bad dimension "M": want an integer or an affine form like 2N+1`},
		{"negative input dim", "name: t\ninputs: [{name: x, shape: [N, -4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "dimension must be between 1 and 268435456, got -4"},
		{"unknown output", head + "outputs: [y]\ngraph: [{relu: }]\n", "4:10", `outputs: no value named "y"`},
		{"unknown target", head + "targets: [riscv]\ngraph: [{relu: }]\n", "4:10", `unknown target "riscv"`},
		{"bad pass entry", head + "passes: [{a: 1, b: 2}]\ngraph: [{relu: }]\n", "4:10", "passes: want a pass name or {name: {options}}"},
		{"pass options not a mapping", head + "passes: [{bn-fold: 3}]\ngraph: [{relu: }]\n", "4:20", "pass bn-fold: options must be a mapping"},
		{"test without outputs", head + "test: {inputs: a.npy}\ngraph: [{relu: }]\n", "4:7", "test: missing outputs"},
		{"bad rtol", head + "test: {inputs: a.npy, outputs: b.npy, rtol: 1e-3x}\ngraph: [{relu: }]\n", "4:45", `test: rtol must be a number, got "1e-3x"`},
		{"bad metric", head + "calibration: {inputs: a.npy, labels: b.npy, metric: top5}\ngraph: [{relu: }]\n", "4:53", `calibration: metric must be top1, kl or rel-l2, got "top5"`},
		{"calibration top1 without labels", head + "calibration: {inputs: a.npy, metric: top1}\ngraph: [{relu: }]\n", "4:38", "calibration: metric top1 needs labels"},
		{"exclude_passes not names", head + "exclude_passes: [{bn-fold: 1}]\ngraph: [{relu: }]\n", "4:18", "exclude_passes: want a pass name or a list such as [bn-fold], got a mapping"},
		{"configuration mapping with an unknown key", head + "configurations: {none: {exclude: [bn-fold]}}\ngraph: [{relu: }]\n", "4:25", `configuration none: unknown key "exclude" (want one of exclude_passes, passes)`},
		{"max_metric_drop not a number", head + "calibration: {inputs: a.npy, labels: b.npy}\npasses: [{quantize: {max_metric_drop: lots}}]\ngraph: [{relu: }]\n", "5:39",
			`pass quantize: max_metric_drop must be a number in [0, 1] (a fraction of top-1), got "lots"`},
		{"max_metric_drop above 1", head + "calibration: {inputs: a.npy, labels: b.npy}\npasses: [{quantize: {max_metric_drop: 2}}]\ngraph: [{relu: }]\n", "5:39",
			"pass quantize: max_metric_drop must be a number in [0, 1]"},
		{"max_metric_drop without calibration", head + "passes: [bn-fold, {quantize: {bits: [8], max_metric_drop: 0.01}}]\ngraph: [{relu: }]\n", "4:59",
			"pass quantize: max_metric_drop needs calibration: {inputs: X.npy, labels: Y.npy} (or without labels, metric: kl)"},
		{"max_metric_drop in a configuration without calibration", head + "configurations:\n  int8: [{quantize: {max_metric_drop: 0.01}}]\ngraph: [{relu: }]\n", "5:39",
			"pass quantize: max_metric_drop needs calibration"},
		{"configurations not a mapping", head + "configurations: [none]\ngraph: [{relu: }]\n", "4:17", "configurations: want a mapping of names to pass lists"},
		{"configuration not a list", head + "configurations: {none: bn-fold}\ngraph: [{relu: }]\n", "4:24", "configuration none: want a list of passes"},
		{"configuration with a bad pass entry", head + "configurations: {x: [{a: 1, b: 2}]}\ngraph: [{relu: }]\n", "4:22", "passes: want a pass name or {name: {options}}"},
		{"twin_of not names", head + "twin_of: [{a: 1}]\ngraph: [{relu: }]\n", "4:11", "twin_of must list names"},

		// Weights: both, neither, bad seed.
		{"both weights and init", "name: t\ninputs: [{name: x, shape: [N, 4]}]\nweights: w.safetensors\ninit: {seed: 1}\ngraph: [{relu: }]\n", "4:7",
			"give either weights: FILE or init: {seed: S}, not both"},
		{"neither weights nor init", "name: t\ninputs: [{name: x, shape: [N, 4]}]\ngraph: [{relu: }]\n", "1:5",
			"model needs weights: FILE.safetensors or init: {seed: S}"},
		{"negative seed", "name: t\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: -1}\ngraph: [{relu: }]\n", "3:7", "init: seed must be ≥ 0"},
		{"unknown init key", "name: t\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1, std: 2}\ngraph: [{relu: }]\n", "3:17", `init: unknown key "std" (want one of seed)`},
		{"weights not safetensors", "name: t\ninputs: [{name: x, shape: [N, 4]}]\nweights: w.bin\ngraph: [{relu: }]\n", "3:10", `weights: want a .safetensors file, got "w.bin"`},
		{"weights file missing", "name: t\ninputs: [{name: x, shape: [N, 4]}]\nweights: nothere.safetensors\ngraph: [{relu: }]\n", "3:10", "weights: no such file or directory"},

		// Layers.
		{"layer not a one-key mapping", head + "graph:\n  - {relu: , gelu: }\n", "5:5", "a layer is a one-key mapping"},
		{"unknown layer kind", head + "graph:\n  - frobnicate: {}\n", "5:17", `unknown layer kind "frobnicate" (want repeat, block, linear, conv2d`},
		{"unknown layer field", head + "graph:\n  - linear: {name: fc, features: 3, activation: relu}\n", "5:37",
			`linear "fc": unknown key "activation" (want one of bias, features, in, name, out, params)`},
		{"unknown conv field", "name: t\ninputs: [{name: x, shape: [N, 1, 4, 4]}]\ninit: {seed: 1}\ngraph:\n  - conv2d: {name: c, filters: 3, kernel: 1, padding: 1}\n", "5:46",
			`conv2d "c": unknown key "padding" (want one of bias, dilation, filters, groups, in, kernel, name, out, pad, params, stride)`},
		{"phm_linear: n does not divide the features", head + "graph:\n  - phm_linear: {name: fc, features: 6, n: 4}\n", "5:17",
			`phm_linear "fc": n 4 must divide the input features 4 and the output features 6`},
		{"phm_linear: n does not divide the input", head + "graph:\n  - phm_linear: {name: fc, features: 6, n: 3}\n", "5:17",
			`n 3 must divide the input features 4 and the output features 6`},
		{"phm_linear without n", head + "graph:\n  - phm_linear: {name: fc, features: 4}\n", "5:17", `phm_linear "fc": n (the hypercomplex order) must be ≥ 1, got 0`},
		{"phc_conv2d: n does not divide the channels", "name: t\ninputs: [{name: x, shape: [N, 3, 4, 4]}]\ninit: {seed: 1}\ngraph:\n  - phc_conv2d: {name: c, filters: 4, kernel: 3, n: 2}\n", "5:17",
			`phc_conv2d "c": n 2 must divide the input channels 3 and the output channels 4`},
		{"unknown attribute of a generic op", head + "graph:\n  - softmax: {dim: 1}\n", "5:14", `unknown attribute "dim"`},
		{"missing name for a layer with params", head + "graph:\n  - linear: {features: 3}\n", "5:13", "linear: a layer with parameters needs a name (or params:)"},
		{"missing name for a batchnorm", "name: t\ninputs: [{name: x, shape: [N, 4, 2, 2]}]\ninit: {seed: 1}\ngraph:\n  - batchnorm: {eps: 0.1}\n", "5:16", "batchnorm: a layer with parameters needs a name"},
		{"missing name inside a block", head + "blocks:\n  b:\n    - linear: {features: 4}\ngraph:\n  - repeat: {block: b, times: 2}\n", "6:15", "needs a name"},
		{"missing name for a param", head + "graph:\n  - param: {shape: [4]}\n", "5:12", "param: a layer with parameters needs a name"},
		{"parameter defined twice", head + "graph:\n  - linear: {name: fc, features: 4}\n  - linear: {name: fc, features: 4}\n", "6:13",
			`parameter "fc.weight" is already defined by the layer at line 5`},
		{"string where int expected", head + "graph:\n  - linear: {name: fc, features: three}\n", "5:34", `linear "fc": features must be an integer, got "three"`},
		{"float where int expected", head + "graph:\n  - linear: {name: fc, features: 2.5}\n", "5:34", "features must be an integer, got 2.5"},
		{"string in a kernel list", "name: t\ninputs: [{name: x, shape: [N, 1, 4, 4]}]\ninit: {seed: 1}\ngraph:\n  - conv2d: {name: c, filters: 2, kernel: [a, 3]}\n", "5:44", `kernel must be an integer, got "a"`},
		{"mapping where int expected", head + "graph:\n  - linear: {name: fc, features: {n: 3}}\n", "5:34", "features must be an integer, got a mapping"},
		{"string where bool expected", head + "graph:\n  - linear: {name: fc, features: 2, bias: maybe}\n", "5:43", `bias must be true or false, got "maybe"`},
		{"list where name expected", head + "graph:\n  - linear: {name: [fc], features: 2}\n", "5:20", "name must be a string, got a list"},
		{"parameter too large", head + "graph:\n  - linear: {name: fc, features: 99999999999999}\n", "5:13",
			`linear "fc": parameter "fc.weight" would have shape [99999999999999 4]: 4e+14 elements, over the limit of 268435456 (limits.TensorElems)`},
		{"parameter dimension too large", head + "graph:\n  - param: {name: p, shape: [9223372036854775807, 2]}\n", "5:30",
			`param "p": dimension must be between 1 and 268435456, got 9223372036854775807`},
		{"pool without kernel", "name: t\ninputs: [{name: x, shape: [N, 1, 4, 4]}]\ninit: {seed: 1}\ngraph:\n  - maxpool: {}\n", "5:14", "want kernel"},
		{"features < 1", head + "graph:\n  - linear: {name: fc, features: 0}\n", "5:13", "features must be ≥ 1, got 0"},
		{"bad pad length", "name: t\ninputs: [{name: x, shape: [N, 1, 4, 4]}]\ninit: {seed: 1}\ngraph:\n  - conv2d: {name: c, filters: 2, kernel: 3, pad: [1, 2, 3]}\n", "5:13",
			"pad must be an int, [h, w] or [top, left, bottom, right], got [1 2 3]"},
		{"bad kernel length", "name: t\ninputs: [{name: x, shape: [N, 1, 4, 4]}]\ninit: {seed: 1}\ngraph:\n  - maxpool: {kernel: [2, 2, 2]}\n", "5:23", "kernel must be an int or [h, w], got [2 2 2]"},
		{"two -1 in a reshape", head + "graph:\n  - reshape: {shape: [-1, -1]}\n", "5:27", "only one dimension may be -1"},
		{"reshape -1 impossible", head + "graph:\n  - reshape: {shape: [-1, 3]}\n", "5:22", "cannot infer -1 when reshaping [N,4] to [1,3]"},
		{"param with symbolic shape", head + "graph:\n  - param: {name: p, shape: [N, 4]}\n", "5:29", "a parameter's shape must be static"},

		// Shape rules (from the layer or the IR).
		{"conv channels not divisible by groups", "name: t\ninputs: [{name: x, shape: [N, 3, 8, 8]}]\ninit: {seed: 1}\ngraph:\n  - conv2d: {name: c, filters: 4, kernel: 3, groups: 2}\n", "5:13",
			`conv2d "c": groups 2 must divide the input channels 3`},
		{"conv on a 2-D input", head + "graph:\n  - conv2d: {name: c, filters: 2, kernel: 3}\n", "5:13", `conv2d "c": input must be [N, C, H, W], got [N,4]`},
		{"conv kernel larger than the input", "name: t\ninputs: [{name: x, shape: [N, 1, 2, 2]}]\ninit: {seed: 1}\ngraph:\n  - conv2d: {name: c, filters: 2, kernel: 3}\n", "5:13", `kernel [3 3] larger than padded input [N,1,2,2]`},
		{"linear on a symbolic last dim", "name: t\ninputs: [{name: x, shape: [N]}]\ninit: {seed: 1}\ngraph:\n  - linear: {name: fc, features: 2}\n", "5:13",
			"input [N] must have a static last dimension"},
		{"add after a linear with mismatched features", head + "graph:\n  - linear: {name: fc, features: 3, out: h}\n  - add: {in: [h, x]}\n", "6:10",
			"shapes [N,3] and [N,4] do not broadcast"},
		{"matmul with mismatched features", head + "graph:\n  - linear: {name: fc, features: 3}\n  - matmul: {in: [x, x]}\n", "6:13", "matmul: inner dimensions differ"},
		{"split sizes", head + "graph:\n  - split: {axis: 1, sizes: [1, 2]}\n", "5:12", "sizes [1 2] must sum to 4"},
		{"transpose perm", head + "graph:\n  - transpose: {perm: [0, 0]}\n", "5:16", "is not a permutation"},
		{"attention heads", "name: t\ninputs: [{name: x, shape: [N, 3, 6]}]\ninit: {seed: 1}\ngraph:\n  - attention: {name: a, heads: 4}\n", "5:16",
			"heads must be ≥ 1 and divide the model dim 6, got 4"},
		{"embedding on floats", head + "graph:\n  - embedding: {name: e, vocab: 4, dim: 2}\n", "5:16", "embedding"},
		{"op with too many inputs", head + "graph:\n  - relu: {in: [x, x]}\n", "5:11", "takes 1 inputs, got 2"},

		// Names: in, out, $in, $out.
		{"undefined in", head + "graph:\n  - relu: {in: y}\n", "5:16", `relu: no value named "y" before this layer`},
		{"layer name is not a value", head + "graph:\n  - linear: {name: fc, features: 3}\n  - relu: {in: fc}\n", "6:16", `no value named "fc"`},
		{"duplicate out", head + "graph:\n  - relu: {out: a}\n  - relu: {out: a}\n", "6:17", `relu: value "a" defined twice`},
		{"out shadows an input", head + "graph:\n  - relu: {out: x}\n", "5:17", `value "x" defined twice`},
		{"param named like an input", head + "graph:\n  - param: {name: x, shape: [4]}\n", "5:12", `value "x" defined twice`},
		{"too many out names", head + "graph:\n  - relu: {out: [a, b]}\n", "5:17", "out names 2 values, the layer has 1 results"},
		{"$in at the top level", head + "graph:\n  - relu: {in: $in}\n", "5:16", "$in is not defined here (blocks know $in, $out and their args)"},
		{"$in as an out name", head + "graph:\n  - relu: {out: $in}\n  - relu: {in: $in}\n", "5:17", "cannot name a result $in"},
		{"$out at the top level", head + "graph:\n  - relu: {out: $out}\n", "5:17", "cannot name a result $out"},
		{"$out read at the top level", head + "graph:\n  - relu: {in: [x, $out]}\n", "5:16", "$out is not defined here"},
		{"undefined block arg", head + "blocks:\n  b: [{relu: {in: $foo}}]\ngraph:\n  - block: {use: b}\n", "5:19", "$foo is not defined here"},
		{"block arg not given", head + "blocks:\n  b: [{linear: {name: fc, features: $d}}]\ngraph:\n  - block: {use: b}\n", "5:37", `features must be an integer, got "$d"`},

		// Blocks.
		{"repeat without {i}", head + "blocks:\n  b: [{relu: }]\ngraph:\n  - repeat: {block: b, times: 2, name: layer}\n", "7:40",
			`name must contain {i} to number the repeats, got "layer"`},
		{"unknown block", head + "graph:\n  - repeat: {block: nope, times: 2}\n", "5:13", `repeat: no block named "nope" under blocks:`},
		{"unknown block in block:", head + "graph:\n  - block: {use: nope}\n", "5:12", `no block named "nope"`},
		{"repeat times 0", head + "blocks:\n  b: [{relu: }]\ngraph:\n  - repeat: {block: b, times: 0}\n", "7:13", "times must be ≥ 1, got 0"},
		{"repeat without block", head + "blocks:\n  b: [{relu: }]\ngraph:\n  - repeat: {times: 2}\n", "7:13", "missing block"},
		{"unknown repeat key", head + "blocks:\n  b: [{relu: }]\ngraph:\n  - repeat: {block: b, times: 2, count: 3}\n", "7:34", `unknown key "count"`},
		{"empty block", head + "blocks:\n  b: []\ngraph:\n  - block: {use: b}\n", "5:6", `block "b": want a list of layers`},
		{"block using itself", head + "blocks:\n  b: [{block: {use: b}}]\ngraph:\n  - block: {use: b}\n", "5:15", "blocks nest more than 8 deep"},
		{"block with two outs", head + "blocks:\n  b: [{relu: }]\ngraph:\n  - block: {use: b, out: [p, q]}\n", "7:26", "a block has one result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeModel(t, tc.yaml)
			m, err := frontend.Load(file, frontend.Options{})
			require.Nil(t, m)
			requirePosError(t, err, file, tc.pos, tc.msg)
		})
	}
}

// The positions name the file as given to Load, relative or not.
func TestLoadErrorNamesFileAsGiven(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(head+"graph:\n  - relu: {in: y}\n"), 0o644))
	t.Chdir(dir)
	_, err := frontend.Load("m.yaml", frontend.Options{})
	requirePosError(t, err, "m.yaml", "5:16", `no value named "y"`)

	_, err = frontend.Load("missing.yaml", frontend.Options{})
	require.ErrorContains(t, err, "missing.yaml: ")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// weightsModel has a linear, a batchnorm and a layernorm; weights are
// bound from w.safetensors.
const weightsModel = `name: w
inputs: [{name: x, shape: [N, 2, 1, 1]}]
weights: w.safetensors
graph:
  - batchnorm: {name: bn}
  - reshape: {shape: [N, 2]}
  - linear: {name: fc, features: 3}
  - layernorm: {name: ln, bias: false}
`

// weightsFor returns tensors that match weightsModel exactly.
func weightsFor() []tensorio.Array {
	return []tensorio.Array{
		tensorio.FromFloat32("bn.weight", []int{2}, []float32{1, 2}),
		tensorio.FromFloat32("bn.bias", []int{2}, []float32{0.5, -0.5}),
		tensorio.FromFloat32("bn.running_mean", []int{2}, []float32{0.25, 0}),
		tensorio.FromFloat32("bn.running_var", []int{2}, []float32{1, 4}),
		tensorio.FromFloat32("fc.weight", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}),
		tensorio.FromFloat32("fc.bias", []int{3}, []float32{-1, 0, 1}),
		tensorio.FromFloat32("ln.weight", []int{3}, []float32{1, 1, 2}),
	}
}

// toHalf re-encodes an F32 array as F16 or BF16.
func toHalf(a tensorio.Array, dt tensorio.DType) tensorio.Array {
	f, err := a.Float32()
	if err != nil {
		panic(err)
	}
	data := make([]byte, 2*len(f))
	for i, x := range f {
		h := tensorio.Float32ToFloat16(x)
		if dt == tensorio.BF16 {
			h = tensorio.Float32ToBFloat16(x)
		}
		binary.LittleEndian.PutUint16(data[2*i:], h)
	}
	return tensorio.Array{Name: a.Name, DType: dt, Shape: a.Shape, Data: data}
}

func TestWeightBinding(t *testing.T) {
	replace := func(name string, with tensorio.Array) func([]tensorio.Array) []tensorio.Array {
		return func(as []tensorio.Array) []tensorio.Array {
			for i := range as {
				if as[i].Name == name {
					as[i] = with
				}
			}
			return as
		}
	}
	tests := []struct {
		name string
		edit func([]tensorio.Array) []tensorio.Array
		pos  string // error position, "" for success
		msg  string
	}{
		{name: "exact", edit: func(as []tensorio.Array) []tensorio.Array { return as }},
		{name: "num_batches_tracked is ignored", edit: func(as []tensorio.Array) []tensorio.Array {
			return append(as, tensorio.FromInt64("bn.num_batches_tracked", []int{}, []int64{100}))
		}},
		{name: "F16 converted", edit: func(as []tensorio.Array) []tensorio.Array {
			for i := range as {
				as[i] = toHalf(as[i], tensorio.F16)
			}
			return as
		}},
		{name: "BF16 converted", edit: func(as []tensorio.Array) []tensorio.Array {
			for i := range as {
				as[i] = toHalf(as[i], tensorio.BF16)
			}
			return as
		}},
		{name: "missing tensor", edit: func(as []tensorio.Array) []tensorio.Array {
			return append(as[:5], as[6:]...) // drop fc.bias
		}, pos: "7:13", msg: `tensor "fc.bias" [3] is missing from w.safetensors`},
		{name: "missing batchnorm statistic", edit: func(as []tensorio.Array) []tensorio.Array {
			return append(as[:3], as[4:]...) // drop bn.running_var
		}, pos: "5:16", msg: `tensor "bn.running_var" [2] is missing from w.safetensors`},
		{name: "mis-shaped tensor", edit: replace("fc.weight", tensorio.FromFloat32("fc.weight", []int{2, 3}, make([]float32, 6))),
			pos: "7:13", msg: `tensor "fc.weight" has shape [2,3] in w.safetensors, this layer needs [3,2]`},
		{name: "mis-shaped rank", edit: replace("ln.weight", tensorio.FromFloat32("ln.weight", []int{1, 3}, make([]float32, 3))),
			pos: "8:16", msg: `tensor "ln.weight" has shape [1,3] in w.safetensors, this layer needs [3]`},
		{name: "extra tensor", edit: func(as []tensorio.Array) []tensorio.Array {
			return append(as, tensorio.FromFloat32("ln.bias", []int{3}, make([]float32, 3)),
				tensorio.FromFloat32("head.weight", []int{1}, []float32{1}),
				tensorio.FromInt64("bn.num_batches_tracked", []int{}, []int64{1}))
		}, pos: "3:10", msg: "w.safetensors has 2 tensors no layer uses: head.weight, ln.bias"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeModel(t, weightsModel)
			arrays := tc.edit(weightsFor())
			require.NoError(t, tensorio.WriteSafetensors(filepath.Join(filepath.Dir(file), "w.safetensors"), arrays, nil))
			m, err := frontend.Load(file, frontend.Options{})
			if tc.pos != "" {
				requirePosError(t, err, file, tc.pos, tc.msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "w.safetensors", m.WeightsFile)
			require.Equal(t, uint64(0), m.Seed)
			// Every value is exact in f16 and bf16.
			for _, want := range weightsFor() {
				f, err := want.Float32()
				require.NoError(t, err)
				got := constByName(t, m.Graph, want.Name)
				require.Equal(t, ir.F32, got.DType)
				require.Equal(t, want.Shape, got.Shape, want.Name)
				require.Equal(t, f, got.F, want.Name)
			}
			// The bound weights are the ones evaluated: bn → fc → ln by hand.
			x := &ir.Tensor{DType: ir.F32, Shape: []int{1, 2, 1, 1}, F: []float32{1.25, 2}}
			outs, err := ir.Eval(m.Graph, x)
			require.NoError(t, err)
			// bn: (1.25-0.25)/1*1+0.5 = 1.5; (2-0)/2*2-0.5 = 1.5 (eps aside).
			// fc: [1.5+3-1, 4.5+6, 7.5+9+1] = [3.5, 10.5, 17.5]; ln of an
			// arithmetic row: ±√1.5, 0, scaled by [1, 1, 2].
			require.Equal(t, []int{1, 3}, outs[0].Shape)
			require.InDelta(t, -1.2247, outs[0].F[0], 1e-3)
			require.InDelta(t, 0, outs[0].F[1], 1e-3)
			require.InDelta(t, 2*1.2247, outs[0].F[2], 1e-3)
		})
	}
}

func TestWeightsFileErrors(t *testing.T) {
	file := writeModel(t, weightsModel)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(file), "w.safetensors"), []byte("not a safetensors file"), 0o644))
	_, err := frontend.Load(file, frontend.Options{})
	requirePosError(t, err, file, "3:10", "weights w.safetensors:")
}

// TestPathPolicy: a path the YAML names must stay inside its directory
// after resolving symlinks, unless AllowExternalPaths.
func TestPathPolicy(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "model")
	require.NoError(t, os.Mkdir(dir, 0o755))
	outside := filepath.Join(base, "outside.safetensors")
	require.NoError(t, tensorio.WriteSafetensors(outside, weightsFor(), nil))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.safetensors")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, tensorio.WriteSafetensors(filepath.Join(dir, "sub", "w.safetensors"), weightsFor(), nil))
	require.NoError(t, os.Symlink(filepath.Join(dir, "sub", "w.safetensors"), filepath.Join(dir, "inner.safetensors")))

	tests := []struct {
		name, weights string
		allowed       bool // without AllowExternalPaths
	}{
		{"relative path outside", "../outside.safetensors", false},
		{"absolute path outside", outside, false},
		{"symlink inside pointing outside", "link.safetensors", false},
		{"dotdot that comes back inside", "sub/../sub/w.safetensors", true},
		{"subdirectory", "sub/w.safetensors", true},
		{"symlink inside pointing inside", "inner.safetensors", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "m"+string(rune('a'+i))+".yaml")
			src := strings.Replace(weightsModel, "w.safetensors", `"`+tc.weights+`"`, 1)
			require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
			m, err := frontend.Load(file, frontend.Options{})
			if tc.allowed {
				require.NoError(t, err)
			} else {
				requirePosError(t, err, file, "3:10", "outside the model's directory")
				require.ErrorContains(t, err, "--allow-external-paths")
				require.Nil(t, m)
			}
			m, err = frontend.Load(file, frontend.Options{AllowExternalPaths: true})
			require.NoError(t, err)
			require.Equal(t, []float32{1, 2, 3, 4, 5, 6}, constByName(t, m.Graph, "fc.weight").F)
		})
	}

	// A model directory reached through a symlink is still inside itself.
	link := filepath.Join(base, "linkdir")
	require.NoError(t, os.Symlink(dir, link))
	file := filepath.Join(link, "in.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(weightsModel, "w.safetensors", "sub/w.safetensors", 1)), 0o644))
	_, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)

	// Model.ReadFile (test vectors, calibration data) follows the same policy.
	m, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	_, err = m.ReadFile("../outside.safetensors")
	require.ErrorContains(t, err, "outside the model's directory")
	_, err = m.ReadFile("link.safetensors")
	require.ErrorContains(t, err, "outside the model's directory")
	_, err = m.ReadFile("sub/w.safetensors")
	require.NoError(t, err)
}

// LoadFS (the embedded zoo) keeps paths inside the model's folder too.
func TestLoadFSPathPolicy(t *testing.T) {
	st, err := tensorio.EncodeSafetensors(weightsFor(), nil)
	require.NoError(t, err)
	fsys := fstest.MapFS{
		"w.safetensors":       {Data: st},
		"m/w.safetensors":     {Data: st},
		"m/model.yaml":        {Data: []byte(weightsModel)},
		"m/escape/model.yaml": {Data: []byte(strings.Replace(weightsModel, "w.safetensors", "../../w.safetensors", 1))},
	}
	m, err := frontend.LoadFS(fsys, "m/model.yaml")
	require.NoError(t, err)
	require.Equal(t, []float32{1, 2, 3, 4, 5, 6}, constByName(t, m.Graph, "fc.weight").F)

	_, err = frontend.LoadFS(fsys, "m/escape/model.yaml")
	requirePosError(t, err, "m/escape/model.yaml", "3:10", "path must stay inside the model's directory")

	_, err = frontend.LoadNamed(fsys, "nope")
	require.ErrorContains(t, err, `no model "nope" (have m)`)
}

// TestZooSeeds: seeded init is deterministic, keyed by the seed and the
// parameter's name.
func TestZooSeeds(t *testing.T) {
	for _, name := range zoo.Names() {
		t.Run(name, func(t *testing.T) {
			a, err := frontend.LoadNamed(zoo.FS(), name)
			require.NoError(t, err)
			b, err := frontend.LoadNamed(zoo.FS(), name)
			require.NoError(t, err)
			require.Equal(t, constNames(a.Graph), constNames(b.Graph))
			for i, c := range a.Graph.Consts {
				require.Equal(t, c.Const.F, b.Graph.Consts[i].Const.F, c.Name)
			}
		})
	}

	src, err := fs.ReadFile(zoo.FS(), "resnet20/model.yaml")
	require.NoError(t, err)
	require.Contains(t, string(src), "init: {seed: 1}")
	load := func(seed string) *frontend.Model {
		m, err := frontend.Load(writeModel(t, strings.Replace(string(src), "init: {seed: 1}", "init: {seed: "+seed+"}", 1)), frontend.Options{})
		require.NoError(t, err)
		return m
	}
	zooM, err := frontend.LoadNamed(zoo.FS(), "resnet20")
	require.NoError(t, err)
	one, two := load("1"), load("2")
	differ := 0
	for i, c := range zooM.Graph.Consts {
		require.Equal(t, c.Const.F, one.Graph.Consts[i].Const.F, "same seed from a file: %s", c.Name)
		if !slices.Equal(c.Const.F, two.Graph.Consts[i].Const.F) {
			differ++
		} else {
			// Only the constant initialisers (BN γ = 1, β = 0) agree.
			require.Regexp(t, `\.(weight|bias)$`, c.Name)
			require.Contains(t, c.Name, "bn")
		}
	}
	require.Greater(t, differ, len(zooM.Graph.Consts)/2)

	// Each parameter has its own stream: adding a layer in front does not
	// change the others.
	small := writeModel(t, head+"graph:\n  - linear: {name: fc, features: 3}\n")
	big := writeModel(t, head+"graph:\n  - linear: {name: pre, features: 4}\n  - linear: {name: fc, features: 3}\n")
	ms, err := frontend.Load(small, frontend.Options{})
	require.NoError(t, err)
	mb, err := frontend.Load(big, frontend.Options{})
	require.NoError(t, err)
	require.Equal(t, constByName(t, ms.Graph, "fc.weight").F, constByName(t, mb.Graph, "fc.weight").F)
}

// Weights() round-trips through safetensors: a zoo model's seeded weights
// written out bind back by name to the same model loaded from a file.
func TestWeightsRoundTrip(t *testing.T) {
	m, err := frontend.LoadNamed(zoo.FS(), "resnet20")
	require.NoError(t, err)
	src, err := m.ReadFile("model.yaml")
	require.NoError(t, err)
	file := writeModel(t, strings.Replace(string(src), "init: {seed: 1}", "weights: w.safetensors", 1))
	require.NoError(t, tensorio.WriteSafetensors(filepath.Join(filepath.Dir(file), "w.safetensors"), m.Weights(), nil))
	m2, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	for i, c := range m.Graph.Consts {
		require.Equal(t, c.Const.F, m2.Graph.Consts[i].Const.F, c.Name)
	}
}
