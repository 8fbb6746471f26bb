package frontend_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/gosafe"
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
		require.NoError(t, gosafe.CheckPackage(m.Package))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "switch.onnx")
	require.NoError(t, os.WriteFile(file, gemmONNX(t, "w.bin"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.bin"), weightsBin(), 0o644))
	m, err := frontend.Load(file, frontend.Options{})
	require.NoError(t, err)
	require.Equal(t, "switchmodel", m.Package)
}

// TestResourceLimits: inputs that ask for unbounded work or memory are
// refused before the work (limits), with the file, line and estimate; and
// every dimension is validated where it is written.
func TestResourceLimits(t *testing.T) {
	model := func(graph string) string {
		return "name: t\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\n" + graph
	}
	deep := "name: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n"
	for _, tc := range []struct {
		name, yaml, pos, msg string
	}{
		{"repeat 10⁹ times", model("blocks: {b: [{relu: }]}\ngraph:\n  - repeat: {block: b, times: 1000000000}\n"), "6:13",
			"repeat: expands to about 1e+09 layers (1000000000 × 1), over the limit of 50000 (limits.Layers)"},
		{"four nested repeats of 100", model("blocks:\n  a: [{relu: }]\n  b: [{repeat: {block: a, times: 100}}]\n  c: [{repeat: {block: b, times: 100}}]\n  d: [{repeat: {block: c, times: 100}}]\ngraph:\n  - repeat: {block: d, times: 100}\n"), "10:13",
			"expands to about 1e+08 layers (100 × 1000000)"},
		{"flow nesting bomb", deep, "1:71", "collections nest more than 64 deep (limits.Nesting)"},
		{"block nesting", "name: t\nx:\n" + nestedBlocks(70), "67:67", "collections nest more than 64 deep"},
		{"a billion features on a narrow input", "name: t\ninputs: [{name: x, shape: [N, 1]}]\ninit: {seed: 1}\ngraph:\n  - linear: {name: fc, features: 1000000000}\n", "5:13",
			`parameter "fc.weight" would have shape [1000000000 1]: 1e+09 elements, over the limit of 268435456 (limits.TensorElems)`},
		{"weights over the total", model("graph:\n" + manyLinear(3)), "",
			"over the limit of 2.0 GiB (limits.ConstBytes)"},
		{"intermediate of 10¹⁰ elements per sample", "name: t\ninputs: [{name: x, shape: [N, 1, 1]}]\ninit: {seed: 1}\ngraph:\n  - expand: {shape: [N, 100000, 100000]}\n", "5:13",
			"result f32[N,100000,100000] holds 1e+10 elements per sample, over the limit of 268435456 (limits.TensorElems)"},
		{"zero dimension", "name: t\ninputs: [{name: x, shape: [N, 0]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "dimension must be between 1 and 268435456, got 0"},
		{"negative batch form", "name: t\ninputs: [{name: x, shape: [-N, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:28", "dimension -N must be between 1 and 268435456 at every batch N ≥ 1"},
		{"N minus 5", "name: t\ninputs: [{name: x, shape: [N-5, 4]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:28", "dimension N-5 must be between 1"},
		{"2⁶³−1", "name: t\ninputs: [{name: x, shape: [N, 9223372036854775807]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "got 9223372036854775807"},
		{"two batch dimensions", "name: t\ninputs: [{name: x, shape: [N, N]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:31", "only one dimension may depend on the batch N (line 2:28 has N already)"},
		{"elements per sample", "name: t\ninputs: [{name: x, shape: [N, 65536, 65536]}]\ninit: {seed: 1}\ngraph: [{relu: }]\n", "2:27", "shape [N,65536,65536] holds 4.29e+09 elements per sample, over the limit of 268435456 (limits.TensorElems)"},
		{"model.yaml over 16 MiB", "name: t\n#" + strings.Repeat("x", 16<<20) + "\n", "", ": 16777226 bytes, over the limit of 16777216 (16.0 MiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeModel(t, tc.yaml)
			_, err := frontend.Load(file, frontend.Options{})
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), file+":"+tc.pos), "want %s:%s…, got %v", file, tc.pos, err)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

func nestedBlocks(depth int) string {
	var sb strings.Builder
	for i := 0; i < depth; i++ {
		sb.WriteString(strings.Repeat(" ", i+1) + "a:\n")
	}
	return sb.String()
}

// manyLinear is k linear layers of 16384×16384 (1 GiB each with bias):
// over limits.ConstBytes from the third.
func manyLinear(k int) string {
	var sb strings.Builder
	sb.WriteString("  - linear: {name: in, features: 16384}\n")
	for i := 0; i < k; i++ {
		fmt.Fprintf(&sb, "  - linear: {name: l%d, features: 16384}\n", i)
	}
	return sb.String()
}

// loadWithin loads file, failing the test if Load takes more than a
// minute (a FIFO used to block it forever).
func loadWithin(t *testing.T, file string, opts frontend.Options) (*frontend.Model, error) {
	t.Helper()
	type result struct {
		m   *frontend.Model
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := frontend.Load(file, opts)
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		return r.m, r.err
	case <-time.After(time.Minute):
		t.Fatalf("Load(%s) hangs", file)
		return nil, nil
	}
}

// TestFilesThatAreNotRegular: a FIFO, a character device or a directory
// where a model names a file is refused before a byte is read; a huge
// sparse file is refused from its size or its 8-byte header, not read
// whole.
func TestFilesThatAreNotRegular(t *testing.T) {
	dir := t.TempDir()
	yaml := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(yaml, []byte(weightsModel), 0o644))
	weights := filepath.Join(dir, "w.safetensors")
	for _, tc := range []struct {
		name     string
		make     func() error
		msg      string
		external bool // with AllowExternalPaths
	}{
		{"FIFO", func() error { return syscall.Mkfifo(weights, 0o644) }, "w.safetensors is not a regular file (a named pipe)", false},
		{"character device", func() error { return os.Symlink("/dev/zero", weights) }, "is not a regular file (a character device)", true},
		{"directory", func() error { return os.Mkdir(weights, 0o755) }, "w.safetensors is not a regular file (a directory)", false},
		{"4 GiB sparse file", func() error {
			f, err := os.Create(weights)
			if err == nil {
				err = f.Truncate(4 << 30)
				f.Close()
			}
			return err
		}, "header does not start with '{'", false},
		{"sparse file with a valid header and 3 GiB of data", func() error {
			hdr := `{"bn.weight":{"dtype":"F32","shape":[805306368],"data_offsets":[0,3221225472]}}`
			f, err := os.Create(weights)
			if err == nil {
				var n [8]byte
				binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
				f.Write(n[:])
				f.WriteString(hdr)
				err = f.Truncate(int64(8 + len(hdr) + 3<<30))
				f.Close()
			}
			return err
		}, "the tensors hold 3221225472 bytes, over the limit of 2147483648", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(weights)
			require.NoError(t, tc.make())
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := loadWithin(t, yaml, frontend.Options{AllowExternalPaths: tc.external})
			runtime.ReadMemStats(&after)
			requirePosError(t, err, yaml, "3:10", tc.msg)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "allocated as if reading the file")
		})
	}
	// The model file itself.
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	_, err := loadWithin(t, fifo, frontend.Options{})
	require.EqualError(t, err, fifo+" is not a regular file (a named pipe)")
}

// TestSymlinkSwapRace: a symlink flipped between a file inside the model's
// directory and one outside while the model loads never gets the outside
// file read (the path used to be checked and then opened: 21 of 300 tries
// loaded the outside file).
func TestSymlinkSwapRace(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "model")
	require.NoError(t, os.Mkdir(dir, 0o755))
	outside := filepath.Join(base, "outside.safetensors")
	secret := weightsFor()
	for i := range secret {
		secret[i].Data = make([]byte, len(secret[i].Data)) // zeros: recognisable
	}
	require.NoError(t, tensorio.WriteSafetensors(outside, secret, nil))
	inside := filepath.Join(dir, "inside.safetensors")
	require.NoError(t, tensorio.WriteSafetensors(inside, weightsFor(), nil))
	yaml := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(yaml, []byte(strings.Replace(weightsModel, "w.safetensors", "link.safetensors", 1)), 0o644))
	link := filepath.Join(dir, "link.safetensors")
	require.NoError(t, os.Symlink(inside, link))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tmp := filepath.Join(dir, "link.tmp")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			target := inside
			if i%2 == 1 {
				target = outside
			}
			os.Remove(tmp)
			if os.Symlink(target, tmp) == nil {
				os.Rename(tmp, link)
			}
		}
	}()
	loaded, refused := 0, 0
	for i := 0; i < 300; i++ {
		m, err := frontend.Load(yaml, frontend.Options{})
		if err != nil {
			require.ErrorContains(t, err, "link.safetensors")
			refused++
			continue
		}
		loaded++
		require.Equal(t, []float32{1, 2, 3, 4, 5, 6}, constByName(t, m.Graph, "fc.weight").F, "read the file outside the model's directory")
	}
	close(stop)
	wg.Wait()
	t.Logf("%d loads, %d refused", loaded, refused)
}

// TestTestVectorBomb: test vectors that inflate past limits.TestBytes are
// refused before inflating (they would be copied into the generated
// package's testdata/vectors.bin).
func TestTestVectorBomb(t *testing.T) {
	dir := t.TempDir()
	// 128 MiB of zeros as x: f32[2²³, 4], streamed into the deflater.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "x.npy", Method: zip.Deflate})
	require.NoError(t, err)
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (8388608, 4), }"
	dict += strings.Repeat(" ", 64-(10+len(dict)+1)%64) + "\n"
	_, err = w.Write(append([]byte{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, byte(len(dict)), byte(len(dict) >> 8)}, dict...))
	require.NoError(t, err)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 128; i++ {
		_, err = w.Write(zeros)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.Less(t, b.Len(), 200<<10)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.npz"), b.Bytes(), 0o644))
	yaml := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(yaml, []byte("name: t\ninputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\ntest: {inputs: x.npz, outputs: x.npz}\ngraph: [{relu: }]\n"), 0o644))
	m, err := frontend.Load(yaml, frontend.Options{})
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = m.TestData()
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, `m.yaml:4: test: x.npz: npz: member "x.npy" inflates to 134217856 bytes, over the 67108864 bytes left of the limit of 67108864 for the archive`)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20))
}

// TestIntegerWeightsPrecision: integer tensors bound to float32 weights
// are converted only when every value is exact in float32 (an I64 value
// of 2²⁴+1 used to become 2²⁴ without a word).
func TestIntegerWeightsPrecision(t *testing.T) {
	dir := t.TempDir()
	yaml := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(yaml, []byte("name: t\ninputs: [{name: x, shape: [N, 1]}]\nweights: w.safetensors\ngraph:\n  - linear: {name: fc, features: 2, bias: false}\n"), 0o644))
	for _, tc := range []struct {
		vals []int64
		err  string
	}{
		{[]int64{3, -1 << 24}, ""},
		{[]int64{1 << 40, 7}, ""},
		{[]int64{5, 1<<24 + 1}, "I64 value 16777217 at element 1 is not exact as a float32 weight (it would become 16777216)"},
		{[]int64{-1 << 62, 0}, ""},
		{[]int64{-1<<62 - 1, 0}, "is not exact as a float32 weight"},
	} {
		w := tensorio.FromInt64("fc.weight", []int{2, 1}, tc.vals)
		require.NoError(t, tensorio.WriteSafetensors(filepath.Join(dir, "w.safetensors"), []tensorio.Array{w}, nil))
		m, err := frontend.Load(yaml, frontend.Options{})
		if tc.err != "" {
			requirePosError(t, err, yaml, "5:13", tc.err)
			continue
		}
		require.NoError(t, err)
		got := constByName(t, m.Graph, "fc.weight").F
		require.Equal(t, []float32{float32(tc.vals[0]), float32(tc.vals[1])}, got)
	}
}
