//go:build unix

package codegen_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
)

// TestWriteManifestFIFO: a named pipe in place of the manifest, or of a
// file it lists, is refused when ownership is checked, not waited on (the
// check used to open them with a plain, blocking open).
func TestWriteManifestFIFO(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pkg")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, codegen.ManifestName), 0o644))
	err := codegen.WriteDir(dir, pkgFiles("v1"), false)
	require.ErrorContains(t, err, "not a manifest modelc wrote")

	require.NoError(t, os.Remove(filepath.Join(dir, codegen.ManifestName)))
	require.NoError(t, codegen.WriteDir(dir, pkgFiles("v1"), true))
	require.NoError(t, os.Remove(filepath.Join(dir, "weights.bin")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "weights.bin"), 0o644))
	err = codegen.WriteDir(dir, pkgFiles("v2"), false)
	require.ErrorContains(t, err, "holds files modelc did not write: weights.bin")
}
