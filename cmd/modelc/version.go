package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"

	"github.com/modelc/modelc/runtime"
)

// runVersion prints modelc's version, the Go toolchain it was built with,
// the platform and the CPU tier its generated kernels would run at here.
func runVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{"usage: modelc version"}
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	fmt.Fprintf(stdout, "modelc %s%s, runtime API v%d\n", runtime.Version, rev, runtime.APIVersion)
	fmt.Fprintf(stdout, "built with %s for %s/%s\n", goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
	fmt.Fprintf(stdout, "CPU tier here: %s (generated kernels run at this tier)\n", runtime.CPUTier())
	return nil
}
