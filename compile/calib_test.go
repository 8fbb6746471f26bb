package compile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
	"github.com/modelc/modelc/zoo/twins"
)

// The vit twin's calibration data loads from model.yaml (128 labelled
// rows) and the float model scores accuracy.json's calibration top-1.
func TestCalibrationTwin(t *testing.T) {
	tw, err := twins.Load(filepath.Join("..", twins.Dir), "vit")
	require.NoError(t, err)
	s, err := compile.Calibration(tw.Model)()
	require.NoError(t, err)
	require.Equal(t, 128, s.Rows)
	require.Equal(t, calib.Top1, s.Metric)
	require.Nil(t, s.Progress, "tests are not a terminal")
	require.Contains(t, s.Source, "calib_x.npy (128 rows, labels calib_labels.npy)")
	r, err := s.Baseline(tw.Model.Graph)
	require.NoError(t, err)
	require.InDelta(t, tw.Accuracy.CalibTop1, r.Value, 1e-6)

	// test: has labels for the twins: the held-out set's first 32 rows.
	ts, err := compile.TestSet(tw.Model)
	require.NoError(t, err)
	require.NotNil(t, ts)
	require.Equal(t, 32, ts.Rows)
	require.Equal(t, tw.Labels[:32], ts.Labels)
}

// Zoo architectures have no data: seeded rows, scored by KL.
func TestCalibrationSeeded(t *testing.T) {
	m, err := frontend.LoadNamed(zoo.FS(), "gpt-mini")
	require.NoError(t, err)
	s, err := compile.Calibration(m)()
	require.NoError(t, err)
	require.Equal(t, calib.KL, s.Metric)
	require.Equal(t, calib.DefaultSeededRows, s.Rows)
	require.Equal(t, ir.I64, s.Inputs[0].DType)
	require.Contains(t, s.Source, "seeded samples")
	ts, err := compile.TestSet(m)
	require.NoError(t, err)
	require.Nil(t, ts, "gpt-mini's test: has no labels")
}

// Bad calibration files are errors at calibration:'s line and column.
func TestCalibrationErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, a tensorio.Array) {
		require.NoError(t, tensorio.WriteNpy(filepath.Join(dir, name), a))
	}
	write("x.npy", tensorio.FromFloat32("x", []int{6, 4}, make([]float32, 24)))
	write("x5.npy", tensorio.FromFloat32("x", []int{6, 5}, make([]float32, 30)))
	write("y.npy", tensorio.FromInt64("y", []int{6}, make([]int64, 6)))
	write("y4.npy", tensorio.FromInt64("y", []int{4}, make([]int64, 4)))
	head := "name: m\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\ngraph: [{linear: {name: fc, features: 3}}]\n"
	for _, c := range []struct{ calib, want string }{
		{"calibration: {inputs: x5.npy, labels: y.npy}", ":5:14: calibration: input x: shape [6 5] does not fit f32[N,4] (want [6 4])"},
		{"calibration: {inputs: x.npy, labels: y4.npy}", ":5:14: calibration: 4 labels for 6 input rows"},
		{"calibration: {inputs: x.npy, labels: x.npy}", ":5:14: calibration: labels: want a 1-D array of integer class ids, got f32[6 4]"},
		{"calibration: {inputs: nope.npy, labels: y.npy}", ":5:14: calibration: nope.npy"},
	} {
		file := filepath.Join(dir, "m.yaml")
		require.NoError(t, os.WriteFile(file, []byte(head+c.calib+"\n"), 0o644))
		m, err := frontend.Load(file, frontend.Options{})
		require.NoError(t, err)
		_, err = compile.Calibration(m)()
		require.ErrorContains(t, err, file+c.want)
	}
}
