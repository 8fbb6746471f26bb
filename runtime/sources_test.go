package runtime

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestSourcesHoldEveryPackage: Sources' embed list names its folders one
// by one (runtime/cuda, a module of its own, stays out), so a package
// added to this module without joining the list would be missing from
// every package modelc builds offline. Each folder with Go files and no
// go.mod of its own must be in Sources, with all its Go files.
func TestSourcesHoldEveryPackage(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != "." {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
		}
		gos, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		for _, f := range gos {
			if _, err := fs.Stat(Sources, filepath.ToSlash(f)); err != nil {
				t.Errorf("%s is not in Sources: add its folder to sources.go's go:embed line", f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
