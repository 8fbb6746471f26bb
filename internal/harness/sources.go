package harness

import (
	"io/fs"

	sources "github.com/modelc/modelc"
)

// runtimeSources returns the runtime's module as this binary carries it:
// its files (paths relative to the module's root), go.mod and go.sum.
func runtimeSources() (fs.FS, []byte, []byte, error) {
	mod := "module " + RuntimeModule + "\n\ngo 1.22\n\n"
	for _, r := range requirements(sources.GoMod) {
		if len(r) > len("golang.org/x/sys") && r[:len("golang.org/x/sys")] == "golang.org/x/sys" {
			mod += "require " + r + "\n"
		}
	}
	return sources.RuntimeSources, []byte(mod), sources.GoSum, nil
}
