package harness

import (
	"io/fs"

	"github.com/modelc/modelc/runtime"
)

// runtimeSources returns the runtime's module as this binary carries it
// (runtime.Sources): its files, go.mod and go.sum.
func runtimeSources() (fs.FS, []byte, []byte, error) {
	goMod, err := fs.ReadFile(runtime.Sources, "go.mod")
	if err != nil {
		return nil, nil, nil, err
	}
	goSum, err := fs.ReadFile(runtime.Sources, "go.sum")
	if err != nil {
		return nil, nil, nil, err
	}
	return runtime.Sources, goMod, goSum, nil
}
