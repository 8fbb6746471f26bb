package passes_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo/twins"
)

// attentionDrop compiles m's graph (compile.Lower) with attention-drop's
// options at a made-up model.yaml position, calibrating on m's
// calibration: data and reporting on its labelled test: rows, or on set
// when given (a model without calibration: data).
func attentionDrop(t *testing.T, m *frontend.Model, opts map[string]any, set ...*calib.Set) (*compile.Result, passes.Entry, error) {
	t.Helper()
	p, err := passes.Build([]passes.Spec{{Name: "attention-drop", Options: opts, Pos: "model.yaml:9:5",
		OptionPos: map[string]string{"max_metric_drop": "model.yaml:9:40"}}})
	require.NoError(t, err)
	o := compile.Options{Pipeline: p}
	if len(set) > 0 {
		o.Run.Calib = func() (*calib.Set, error) { return set[0], nil }
	}
	res, err := compile.Lower(m, o)
	if err != nil {
		return nil, passes.Entry{}, err
	}
	i := slices.IndexFunc(res.Log, func(e passes.Entry) bool { return e.Pass == "attention-drop" })
	require.GreaterOrEqual(t, i, 0)
	return res, res.Log[i], nil
}

// skipUnderRace skips a test that evaluates a trained model many times:
// the race run (make test) checks concurrency on the small tests.
func skipUnderRace(t *testing.T) {
	if passes.RaceEnabled {
		t.Skip("evaluates the twin many times; skipped under the race detector")
	}
}

func countKind(g *ir.Graph, k ir.Kind) int {
	n := 0
	for _, nd := range g.Nodes {
		if nd.Op.Kind() == k {
			n++
		}
	}
	return n
}

type torchScores struct {
	Sim struct {
		Attn, MLP, Block []float64
	} `json:"sim"`
	Calibration struct{ Rows, Tokens int }
	AttnDrops   map[string][]int `json:"attn_drops"`
	Heldout     int              `json:"heldout_rows"`
	Correct     map[string]int   `json:"heldout_correct_after_attn_drop"`
}

func loadTorchScores(t *testing.T) torchScores {
	data, err := os.ReadFile(filepath.Join("..", twins.Dir, "vit", "drop_scores.json"))
	require.NoError(t, err, "make zoo-drop-scores writes it")
	var ts torchScores
	require.NoError(t, json.Unmarshal(data, &ts))
	require.Len(t, ts.Sim.Attn, 4)
	return ts
}

// simsOf parses the Sim column of the pass's report, in region order.
func simsOf(t *testing.T, report string) []float64 {
	var sims []float64
	for _, l := range strings.Split(report, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 8 || !strings.Contains(cells[1], "blocks") {
			continue
		}
		var s float64
		_, err := fmt.Sscan(strings.TrimSpace(cells[3]), &s)
		require.NoError(t, err, l)
		sims = append(sims, s)
	}
	return sims
}

// The vit twin's scores agree with LLM-Drop's, computed with PyTorch hooks
// by zoo/train/llmdrop_scores.py (drop_scores.json), to 1e-4 for attention,
// MLP and block regions; k = 1, 2, 3 drop the same attention regions; the
// dropped graph's held-out top-1 is PyTorch's for the same drops. The
// twin's model.onnx (same weights, imported) gives the same scores and
// drops.
func TestAttentionDropTorch(t *testing.T) {
	skipUnderRace(t)
	ts := loadTorchScores(t)
	dir := filepath.Join("..", twins.Dir)
	// Each form with its calibration set: model.yaml names its data; the
	// ONNX file has none, so it gets the twin's rows.
	load := map[string]func() (*frontend.Model, *twins.Twin, *calib.Set){
		"model.yaml": func() (*frontend.Model, *twins.Twin, *calib.Set) {
			tw, err := twins.Load(dir, "vit")
			require.NoError(t, err)
			set, err := compile.Calibration(tw.Model)()
			require.NoError(t, err)
			return tw.Model, tw, set
		},
		"model.onnx": func() (*frontend.Model, *twins.Twin, *calib.Set) {
			tw, err := twins.Load(dir, "vit")
			require.NoError(t, err)
			m, err := frontend.Load(filepath.Join(dir, "vit", "model.onnx"), frontend.Options{})
			require.NoError(t, err)
			x, y, err := tw.Calibration()
			require.NoError(t, err)
			set, err := calib.New(m.Graph, []*ir.Tensor{x}, &ir.Tensor{DType: ir.I64, Shape: []int{len(y)}, I: y}, "")
			require.NoError(t, err)
			return m, tw, set
		},
	}
	for _, form := range []string{"model.yaml", "model.onnx"} {
		t.Run(form, func(t *testing.T) {
			for _, tc := range []struct {
				target string
				want   []float64
			}{{"mlp", ts.Sim.MLP}, {"block", ts.Sim.Block}} { // attn: below, with each k
				m, _, set := load[form]()
				_, e, err := attentionDrop(t, m, map[string]any{"target": tc.target, "drop": int64(1)}, set)
				require.NoError(t, err)
				got := simsOf(t, e.Report)
				require.Len(t, got, 4, e.Report)
				for i := range got {
					require.InDelta(t, tc.want[i], got[i], 1e-4, "%s %s %d", form, tc.target, i)
				}
				require.Contains(t, e.Report, fmt.Sprintf("Sim averages %d tokens", ts.Calibration.Tokens))
			}
			for _, k := range []int{1, 2, 3} {
				m, tw, set := load[form]()
				_, e, err := attentionDrop(t, m, map[string]any{"drop": int64(k)}, set)
				require.NoError(t, err)
				got := simsOf(t, e.Report)
				require.Len(t, got, 4)
				for i := range got {
					require.InDelta(t, ts.Sim.Attn[i], got[i], 1e-4, "%s attn %d", form, i)
				}
				var dropped []int
				for _, l := range strings.Split(e.Report, "\n") {
					if c := strings.Split(l, "|"); len(c) > 7 && strings.TrimSpace(c[6]) == "yes" {
						var layer int
						_, err := fmt.Sscan(strings.TrimSpace(c[2]), &layer)
						require.NoError(t, err)
						dropped = append(dropped, layer)
					}
				}
				require.Equal(t, ts.AttnDrops[fmt.Sprint(k)], dropped, "k=%d", k)
				require.Equal(t, 4-k, countKind(m.Graph, ir.KAttention))
				if form == "model.onnx" {
					continue // the same drops of the same weights; model.yaml checks the accuracy
				}
				logits, err := twins.Eval(m.Graph, tw.X, 120)
				require.NoError(t, err)
				correct := twins.Top1(logits, tw.Labels)
				t.Logf("%s: k=%d drops layers %v; held-out top-1 %d/%d (PyTorch %d)", form, k, dropped, correct, len(tw.Labels), ts.Correct[fmt.Sprint(k)])
				require.InDelta(t, ts.Correct[fmt.Sprint(k)], correct, 1, "held-out top-1 after dropping, vs PyTorch (one near-tie allowed)")
			}
		})
	}
}

// max_metric_drop 0.01 on the vit twin drops the most attention regions
// that keep the calibration top-1 within one point, and says which; a
// budget nothing meets leaves the graph unchanged with a warning, or fails
// with strict.
func TestAttentionDropBudget(t *testing.T) {
	skipUnderRace(t)
	dir := filepath.Join("..", twins.Dir)
	tw, err := twins.Load(dir, "vit")
	require.NoError(t, err)
	_, e, err := attentionDrop(t, tw.Model, map[string]any{"max_metric_drop": 0.01})
	require.NoError(t, err)
	t.Logf("%s\n%s", e.Stats, e.Report)
	require.Empty(t, e.Warnings)
	// The search measured settings from all four dropped down to the one
	// that fits; every setting above it was over the budget.
	require.Contains(t, e.Report, "Budget search")
	kept := 4 - countKind(tw.Model.Graph, ir.KAttention)
	require.Equal(t, kept, e.Stats["dropped"])
	require.GreaterOrEqual(t, kept, 1)
	require.Contains(t, e.Report, fmt.Sprintf("| %d | top-1 ", kept))
	require.Contains(t, e.Report, "| true |")
	require.Contains(t, e.Report, "within max_metric_drop")
	// Its calibration top-1 is within one point of the float model's 123/128.
	set, err := compile.Calibration(tw.Model)()
	require.NoError(t, err)
	tw0, err := twins.Load(dir, "vit")
	require.NoError(t, err)
	_, err = set.Baseline(tw0.Model.Graph)
	require.NoError(t, err)
	r, err := set.Measure(tw.Model.Graph, "after")
	require.NoError(t, err)
	require.True(t, set.Fits(calib.Budget{MaxDrop: 0.01}, r), "%s", r)
	// One more drop (the next in the ranking) would not fit.
	if kept < 4 {
		ts := loadTorchScores(t)
		next := slices.SortedFunc(slices.Values([]int{0, 1, 2, 3}), func(a, b int) int {
			return int(math.Copysign(1, ts.Sim.Attn[b]-ts.Sim.Attn[a]))
		})[kept]
		require.Contains(t, e.Report, fmt.Sprintf("| blocks.%d attn | %d |", next, next))
		require.Regexp(t, fmt.Sprintf(`\| blocks\.%d attn \| %d \| [^|]+ \| [^|]+ \| %d \| no \| kept: dropping it too exceeds max_metric_drop \|`, next, next, kept+1), e.Report)
	}

	// No drop fits a zero budget on the twin whose every region matters.
	tw, err = twins.Load(dir, "vit")
	require.NoError(t, err)
	_, e, err = attentionDrop(t, tw.Model, map[string]any{"max_metric_drop": 0, "protect": []any{int64(3)}})
	require.NoError(t, err)
	require.Len(t, e.Warnings, 1)
	require.Contains(t, e.Warnings[0], "over max_metric_drop 0; the graph is unchanged")
	require.Contains(t, e.Report, "No region dropped: dropping even blocks.2 attn alone")
	require.Equal(t, 4, countKind(tw.Model.Graph, ir.KAttention))
	tw, err = twins.Load(dir, "vit")
	require.NoError(t, err)
	_, _, err = attentionDrop(t, tw.Model, map[string]any{"max_metric_drop": 0, "strict": true, "protect": []any{int64(3)}})
	require.ErrorContains(t, err, "model.yaml:9:40: pass attention-drop: max_metric_drop 0: dropping even blocks.2 attn alone changes the calibration metric by")
	require.ErrorContains(t, err, "(strict: true)")
}

// The RepBN twin after bn-fold (the default): h + F(h) regions, the norm
// folded into qkv and fc1, are found and dropped.
func TestAttentionDropFoldedNorm(t *testing.T) {
	skipUnderRace(t)
	tw, err := twins.Load(filepath.Join("..", twins.Dir), "vit-repbn")
	require.NoError(t, err)
	_, e, err := attentionDrop(t, tw.Model, map[string]any{"drop": int64(1)})
	require.NoError(t, err)
	require.Equal(t, 4, e.Stats["candidates"])
	require.Equal(t, 3, countKind(tw.Model.Graph, ir.KAttention))
	require.Zero(t, countKind(tw.Model.Graph, ir.KBatchNorm))
	require.Contains(t, e.Report, "test: top-1 (32 labelled rows)")
}
