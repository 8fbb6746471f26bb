package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/frontend/onnx/onnxpb"
)

// memLimit is the peak resident memory every refused hostile input must
// stay under.
const memLimit = 512 << 20

// cliCommand runs this test binary as modelc (see TestMain) in dir.
func cliCommand(t *testing.T, ctx context.Context, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MODELC_TEST_AS_CLI=1")
	return cmd
}

// runBounded runs modelc args in dir as a child process, killing it if its
// resident memory passes memLimit (polled) or it runs past a minute, and
// returns its combined output, exit code and peak resident memory (the
// kernel's count, which also catches spikes between polls).
func runBounded(t *testing.T, dir string, args ...string) (string, int, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := cliCommand(t, ctx, dir, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	over := make(chan int64, 1)
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if rss := vmRSS(status); rss > memLimit {
				over <- rss
				cmd.Process.Kill()
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	select {
	case rss := <-over:
		t.Fatalf("modelc %s: resident memory reached %d MiB (limit %d MiB):\n%s", strings.Join(args, " "), rss>>20, memLimit>>20, out.String())
	default:
	}
	if ctx.Err() != nil {
		t.Fatalf("modelc %s: still running after a minute:\n%s", strings.Join(args, " "), out.String())
	}
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	return out.String(), code, peak
}

func vmRSS(status string) int64 {
	f, err := os.Open(status)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestResourceBombs runs modelc on hostile inputs, each a small file that
// asks for unbounded work or memory, in a child process: every one must be
// refused with an error (exit 1, no panic or stack trace) within a minute
// while the process stays under 512 MiB of resident memory.
func TestResourceBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs modelc a dozen times and deflates 512 MiB of zeros")
	}
	dir := t.TempDir()
	write := func(name, src string) string {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
		return name
	}
	head := "inputs: [{name: x, shape: [N, 4]}]\ninit: {seed: 1}\n"
	var nested strings.Builder
	nested.WriteString("name: nest\n" + head + "blocks:\n  a: [{relu: }]\n")
	for _, b := range []string{"b", "c", "d"} {
		fmt.Fprintf(&nested, "  %s: [{repeat: {block: %s, times: 100}}]\n", b, string(rune(b[0]-1)))
	}
	nested.WriteString("graph:\n  - repeat: {block: d, times: 100}\n")

	// Weights: a FIFO, and a sparse 4 GiB file.
	weightsYAML := "inputs: [{name: x, shape: [N, 4]}]\nweights: %s\ngraph:\n  - linear: {name: fc, features: 4}\n"
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.safetensors"), 0o644))
	sparse, err := os.Create(filepath.Join(dir, "sparse.safetensors"))
	require.NoError(t, err)
	require.NoError(t, sparse.Truncate(4<<30))
	sparse.Close()

	// Test vectors: 512 MiB of deflated zeros.
	write("bomb.npz", string(zeroBomb(t, 512<<20)))

	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"repeat 10⁹", []string{"inspect", write("rep.yaml", "name: rep\n"+head+"blocks: {b: [{relu: }]}\ngraph:\n  - repeat: {block: b, times: 1000000000}\n")}, "expands to about 1e+09 layers"},
		{"nested repeats", []string{"inspect", write("nest.yaml", nested.String())}, "expands to about 1e+08 layers"},
		{"flow nesting", []string{"inspect", write("brackets.yaml", "name: "+strings.Repeat("[", 50_000)+strings.Repeat("]", 50_000)+"\n")}, "nest more than 64 deep"},
		{"mapping nesting", []string{"inspect", write("maps.yaml", "name: "+strings.Repeat("{a: ", 20_000)+"1"+strings.Repeat("}", 20_000)+"\n")}, "nest more than 64 deep"},
		{"10⁹ features", []string{"build", write("wide.yaml", "name: wide\ninputs: [{name: x, shape: [N, 1]}]\ninit: {seed: 1}\ngraph:\n  - linear: {name: fc, features: 1000000000}\n")}, "over the limit of 268435456"},
		{"40 GB per sample", []string{"build", write("big.yaml", "name: big\ninputs: [{name: x, shape: [N, 1, 1]}]\ninit: {seed: 1}\ngraph:\n  - expand: {shape: [N, 100000, 100000]}\n")}, "holds 1e+10 elements per sample"},
		{"arena at the max batch", []string{"build", write("arena.yaml", "name: arena\ninputs: [{name: x, shape: [N, 1, 1]}]\ninit: {seed: 1}\ngraph:\n  - expand: {shape: [N, 8192, 8192]}\n  - relu:\n  - reduce_sum: {axes: [1, 2]}\n"), "--max-batch", "1024"}, "over the limit of 16.0 GiB for the arena"},
		{"reference engine at a huge batch", []string{"run", "arena.yaml", "--batch", "1000"}, "over the limit of 16.0 GiB"},
		{"ConstantOfShape of 10¹⁰", []string{"build", writeBytes(t, dir, "cos.onnx", constantOfShapeONNX(t))}, "holds more than 268435456 elements"},
		{"ONNX functions inlined to 10³⁰ nodes", []string{"build", writeBytes(t, dir, "fns.onnx", functionBombONNX(t))}, "with its functions inlined, over the limit of 50000"},
		// Within the limits, so built, but never expanded while it is.
		{"ONNX sum of a 2²⁸-element splat", []string{"build", writeBytes(t, dir, "sum.onnx", reducedSplatsONNX(t, 1)), "-o", "sumpkg"}, "wrote package"},
		{"ONNX sums of nine 2²⁸-element splats", []string{"build", writeBytes(t, dir, "sums.onnx", reducedSplatsONNX(t, 9))}, "over the limit of 2.0 GiB (limits.ConstBytes)"},
		{"FIFO weights", []string{"build", write("fifo.yaml", "name: f\n"+fmt.Sprintf(weightsYAML, "fifo.safetensors"))}, "is not a regular file (a named pipe)"},
		{"sparse 4 GiB weights", []string{"build", write("sparse.yaml", "name: s\n"+fmt.Sprintf(weightsYAML, "sparse.safetensors"))}, "header does not start with '{'"},
		{"deflate bomb as test vectors", []string{"build", write("vec.yaml", "name: v\n"+head+"test: {inputs: bomb.npz, outputs: bomb.npz}\ngraph: [{relu: }]\n")}, "over the 67108864 bytes left of the limit"},
		{"--max-batch 10¹²", []string{"build", "arena.yaml", "--max-batch", "1000000000000"}, "--max-batch 1000000000000: want a batch from 1 to 1048576"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code, peak := runBounded(t, dir, tc.args...)
			t.Logf("peak RSS %d MiB", peak>>20)
			require.Contains(t, out, tc.msg)
			if tc.msg != "wrote package" {
				require.NotZero(t, code, "accepted:\n%s", out)
				require.True(t, strings.HasPrefix(out, "modelc: "), "not an error message:\n%s", out)
			}
			for _, bad := range []string{"panic:", "goroutine ", "fatal error"} {
				require.NotContains(t, out, bad)
			}
			require.Less(t, peak, int64(memLimit))
		})
	}
}

func writeBytes(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	return name
}

// zeroBomb returns a .npz holding one float32 array of n bytes of zeros,
// deflated (about a thousandth of n).
func zeroBomb(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "x.npy", Method: zip.Deflate})
	require.NoError(t, err)
	// A .npy v1.0 header: magic, version, length, dict padded with spaces
	// and a newline to 64 bytes.
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 4), }", n/16)
	pad := 64 - (10+len(dict)+1)%64
	dict += strings.Repeat(" ", pad) + "\n"
	_, err = w.Write(append([]byte{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, byte(len(dict)), byte(len(dict) >> 8)}, dict...))
	require.NoError(t, err)
	chunk := make([]byte, 1<<20)
	for i := 0; i < n/len(chunk); i++ {
		_, err = w.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// constantOfShapeONNX is a 100-byte ONNX model whose ConstantOfShape asks
// for a [100000, 100000] tensor.
func constantOfShapeONNX(t *testing.T) []byte {
	return onnxBytes(t, []string{"y", "c"}, []*onnxpb.NodeProto{
		{Name: proto.String("cos"), OpType: proto.String("ConstantOfShape"), Input: []string{"s"}, Output: []string{"c"}},
		{Name: proto.String("relu"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}},
	}, nil, 100000, 100000)
}

// reducedSplatsONNX holds k ConstantOfShapes of 2²⁸ elements each
// (within limits.TensorElems), each summed to one number: import must
// not expand them to evaluate the sums, and the package would fill k GiB
// of splats at New.
func reducedSplatsONNX(t *testing.T, k int) []byte {
	outs := []string{"y"}
	nodes := []*onnxpb.NodeProto{{Name: proto.String("relu"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}}}
	for i := 0; i < k; i++ {
		c, r := fmt.Sprint("c", i), fmt.Sprint("r", i)
		nodes = append(nodes, &onnxpb.NodeProto{Name: proto.String(c), OpType: proto.String("ConstantOfShape"), Input: []string{"s"}, Output: []string{c},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: &onnxpb.TensorProto{
				Dims: []int64{1}, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{float32(i)}}}}},
			&onnxpb.NodeProto{Name: proto.String(r), OpType: proto.String("ReduceSum"), Input: []string{c}, Output: []string{r},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}})
		outs = append(outs, r)
	}
	return onnxBytes(t, outs, nodes, nil, 1<<14, 1<<14)
}

// functionBombONNX calls F0, which calls F1 ten times, … to F30: 10³⁰
// Relus in a few hundred bytes, once its functions are inlined.
func functionBombONNX(t *testing.T) []byte {
	var fns []*onnxpb.FunctionProto
	for i := 0; i < 31; i++ {
		f := &onnxpb.FunctionProto{Name: proto.String(fmt.Sprintf("F%d", i)), Domain: proto.String("bomb"), Input: []string{"x"}, Output: []string{"y"}}
		callee, domain := fmt.Sprintf("F%d", i+1), "bomb"
		if i == 30 {
			callee, domain = "Relu", ""
		}
		for j := 0; j < 10; j++ {
			f.Node = append(f.Node, &onnxpb.NodeProto{OpType: proto.String(callee), Domain: proto.String(domain), Input: []string{"x"}, Output: []string{fmt.Sprint("t", j)}})
		}
		f.Node[9].Output[0] = "y"
		fns = append(fns, f)
	}
	return onnxBytes(t, []string{"y"}, []*onnxpb.NodeProto{
		{Name: proto.String("call"), OpType: proto.String("F0"), Domain: proto.String("bomb"), Input: []string{"x"}, Output: []string{"y"}},
	}, fns, 1, 1)
}

// onnxBytes is an ONNX model of input x: f32[N, 4], an int64 initializer
// s holding shape, the nodes and the functions.
func onnxBytes(t *testing.T, outputs []string, nodes []*onnxpb.NodeProto, fns []*onnxpb.FunctionProto, shape ...int64) []byte {
	t.Helper()
	f32 := int32(onnxpb.TensorProto_FLOAT)
	dims := []*onnxpb.TensorShapeProto_Dimension{
		{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
		{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}},
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}, {Domain: proto.String("bomb"), Version: proto.Int64(1)}},
		Functions:   fns,
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(f32), Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("s"), Dims: []int64{int64(len(shape))},
				DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: shape}},
			Node: nodes,
		},
	}
	for _, o := range outputs {
		m.Graph.Output = append(m.Graph.Output, &onnxpb.ValueInfoProto{Name: proto.String(o)})
	}
	data, err := proto.Marshal(m)
	require.NoError(t, err)
	return data
}

// TestKilledBuilds kills modelc build at random moments and checks that
// the package directory is never half-written (it holds exactly what its
// manifest lists, or does not exist yet) and that the next build, without
// --force, succeeds: killed builds' leftovers are repaired.
func TestKilledBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package a dozen times")
	}
	dir := t.TempDir()
	_, model := writeTiny(t)
	out := filepath.Join(dir, "pkg")
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 8; i++ {
		cmd := cliCommand(t, context.Background(), dir, "build", model, "-o", out)
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(r.IntN(400)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if _, err := os.Stat(out); err == nil {
			// Whatever the kill interrupted, the directory is a whole package.
			requireWholePackage(t, out)
		}
	}
	o, err := modelc(t, "build", model, "-o", out)
	require.NoError(t, err, o)
	requireWholePackage(t, out)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.Contains(e.Name(), ".modelc-"), "left behind: %s", e.Name())
	}
}

// requireWholePackage checks that dir holds exactly its manifest's files
// with their hashes.
func requireWholePackage(t *testing.T, dir string) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(dir, codegen.ManifestName))
	require.NoError(t, err, "no manifest: a half-written package")
	n := 0
	for _, line := range strings.Split(string(manifest), "\n") {
		if sum, name, ok := strings.Cut(line, "  "); ok && !strings.HasPrefix(line, "#") {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			require.NoError(t, err)
			h := sha256.Sum256(data)
			require.Equal(t, sum, hex.EncodeToString(h[:]), name)
			n++
		}
	}
	require.Greater(t, n, 3)
}
