package compile

import (
	"fmt"

	"github.com/modelc/modelc/calib"
	"github.com/modelc/modelc/frontend"
)

// Calibration returns the loader of m's calibration: data (package
// calib), or of seeded samples of its input types when it has none (the
// zoo architectures); loaded once, when a lossy pass first asks, with a
// progress bar on a terminal.
func Calibration(m *frontend.Model) calib.Loader {
	return calib.Once(func() (*calib.Set, error) {
		var s *calib.Set
		if m.Calibration == nil {
			s = calib.Seeded(m.Graph, calib.DefaultSeededRows, calib.DefaultSeed)
			s.Pos = m.File
		} else {
			var err error
			if s, err = calib.Load(m.Graph, dataFiles(m, m.Calibration, "calibration", m.Calibration.Metric)); err != nil {
				return nil, err
			}
		}
		s.Progress = calib.Terminal()
		return s, nil
	})
}

// TestSet loads m's test: inputs with their labels, on which a lossy
// pass reports its top-1; nil when test: has no labels.
func TestSet(m *frontend.Model) (*calib.Set, error) {
	if m.Test == nil || len(m.Test.Labels) == 0 {
		return nil, nil
	}
	s, err := calib.Load(m.Graph, dataFiles(m, m.Test, "test", calib.Top1))
	if err != nil {
		return nil, err
	}
	s.Progress = calib.Terminal()
	return s, nil
}

func dataFiles(m *frontend.Model, d *frontend.DataSpec, what, metric string) calib.Files {
	return calib.Files{
		What: what, Pos: fmt.Sprintf("%s:%d:%d", m.File, d.Line, d.Col),
		Inputs: d.Inputs, Labels: d.Labels, Metric: metric, Read: m.ReadTensors,
	}
}
