package frontend_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/zoo"
)

// FuzzLoad feeds arbitrary bytes to Load as a model.yaml. Load must not
// panic: it returns an error that names the file, or a model whose graph
// verifies. Seeds: the zoo's models and testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	for _, name := range zoo.Names() {
		src, err := fs.ReadFile(zoo.FS(), name+"/model.yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file := filepath.Join(t.TempDir(), "model.yaml")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := frontend.Load(file, frontend.Options{})
		if err != nil {
			if m != nil {
				t.Fatalf("Load returned a model and an error: %v", err)
			}
			if !errorPrefix(file).MatchString(err.Error()) {
				t.Fatalf("error does not start with %s:LINE:COL: %v", file, err)
			}
			return
		}
		if err := ir.Verify(m.Graph); err != nil {
			t.Fatalf("Load returned a graph that does not verify: %v", err)
		}
	})
}

func errorPrefix(file string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:\d+:\d+: \S`)
}
