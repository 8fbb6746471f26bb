package passes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo/twins"
)

// quantizeModel compiles m's graph (compile.Lower) with quantize's
// options, calibrating on m's calibration: data.
func quantizeModel(t *testing.T, m *frontend.Model, opts map[string]any) (passes.Entry, error) {
	t.Helper()
	p, err := passes.Build([]passes.Spec{{Name: "quantize", Options: opts, Pos: "model.yaml:9:5"}})
	require.NoError(t, err)
	res, err := compile.Lower(m, compile.Options{Pipeline: p})
	if err != nil {
		return passes.Entry{}, err
	}
	i := slices.IndexFunc(res.Log, func(e passes.Entry) bool { return e.Pass == "quantize" })
	require.GreaterOrEqual(t, i, 0)
	return res.Log[i], nil
}

// TestQuantizeTwins: int8 (fixed point, KL calibration on the twin's 128
// calibration rows) keeps each accuracy twin's held-out top-1 within one
// point of float (3 of 360 rows), with ≥ 90% of the linear/conv MACs in
// integer layers (the first and last stay float). phm-mlp and repvgg (a
// linear and a conv twin, the conv one with requantizing epilogues) run
// in make test; MODELC_LONG=1 adds resmlp-bn, vit and phc-cnn, and int16
// on all five (within 0.2 points: no row lost).
func TestQuantizeTwins(t *testing.T) {
	skipUnderRace(t)
	names := []string{"phm-mlp", "repvgg"}
	if os.Getenv("MODELC_LONG") != "" {
		names = append(names, "resmlp-bn", "vit", "phc-cnn")
	}
	type run struct {
		bits int
		loss int // held-out rows int may lose: 1 point (int8), 0.2 (int16)
	}
	runs := []run{{8, 3}}
	if os.Getenv("MODELC_LONG") != "" {
		runs = append(runs, run{16, 0})
	}
	dir := filepath.Join("..", twins.Dir)
	for _, name := range names {
		for _, r := range runs {
			t.Run(fmt.Sprintf("%s/int%d", name, r.bits), func(t *testing.T) {
				tw, err := twins.Load(dir, name)
				require.NoError(t, err)
				float, err := twins.Eval(tw.Model.Graph.Clone(), tw.X, 120)
				require.NoError(t, err)
				e, err := quantizeModel(t, tw.Model, map[string]any{"bits": []any{int64(r.bits)}})
				require.NoError(t, err)
				t.Logf("%s\n%s", e.Stats, e.Report)
				q, err := twins.Eval(tw.Model.Graph, tw.X, 120)
				require.NoError(t, err)
				f0, f1 := twins.Top1(float, tw.Labels), twins.Top1(q, tw.Labels)
				t.Logf("%s: held-out top-1 float %d, int%d %d of %d; %d%% of the MACs in integer layers", name, f0, r.bits, f1, len(tw.Labels), e.Stats["int-mac-percent"])
				require.LessOrEqual(t, f0-f1, r.loss, "int%d loses more than its bar of top-1", r.bits)
				require.GreaterOrEqual(t, e.Stats["int-mac-percent"], 90)
				require.Equal(t, e.Stats["quantized"], countKind(tw.Model.Graph, ir.KQLinear)+countKind(tw.Model.Graph, ir.KQConv2D))
			})
		}
	}
}
