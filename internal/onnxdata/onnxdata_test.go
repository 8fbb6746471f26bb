package onnxdata

import (
	"io/fs"
	"testing"
)

// TestArchive opens the embedded archive and checks it holds what the
// README says: every suite, the test counts, and each test's model and
// first data set.
func TestArchive(t *testing.T) {
	fsys, err := FS()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Tests(fsys)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, tc := range ts {
		count[tc.Suite]++
		for _, f := range []string{"model.onnx", "test_data_set_0"} {
			if _, err := fs.Stat(fsys, tc.Dir()+"/"+f); err != nil {
				t.Errorf("%s: %v", tc.Dir(), err)
			}
		}
	}
	want := map[string]int{"node": 1802, "pytorch-converted": 82, "pytorch-operator": 35, "simple": 23, "light": 5}
	for s, n := range want {
		if count[s] != n {
			t.Errorf("%s/: %d tests, want %d", s, count[s], n)
		}
	}
	if _, err := fs.Stat(fsys, "LICENSE"); err != nil {
		t.Error(err)
	}
}
