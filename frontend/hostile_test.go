package frontend_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/gosrc"
)

// TestDerivedPackageNames: a package name derived from a model name or an
// ONNX file name is always one Go accepts and apps can import.
func TestDerivedPackageNames(t *testing.T) {
	for name, want := range map[string]string{
		"Switch": "switchmodel", "func": "funcmodel", "main": "mainmodel", "_": "model",
		"ResNet-20": "resnet20", "9lives": "model9lives", "é": "model", "type_": "typemodel",
	} {
		m, err := frontend.Load(writeModel(t, "name: "+name+"\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n"), frontend.Options{})
		require.NoError(t, err, name)
		require.Equal(t, want, m.Package, name)
		require.NoError(t, gosrc.CheckPackage(m.Package))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "switch.onnx")
	require.NoError(t, os.WriteFile(file, gemmONNX(t, "w.bin"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.bin"), weightsBin(), 0o644))
	m, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	require.Equal(t, "switchmodel", m.Package)
}
