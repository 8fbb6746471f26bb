//go:build gpu

package codegen_test

// The GPU check (make gpu-check builds this file's test binary; a machine
// with an NVIDIA GPU runs it with .ci/gpu-check.sh run): every zoo model
// on cuda.Device(0) against the reference evaluator's stored outputs by
// design.md's GPU rule (rtol 1e-3 in f32), each model's time per run at
// batch 1 and 32, and a 4096³ GEMM's TFLOP/s beside the device's FP32
// peak, written as JSON to $MODELC_GPU_RESULT (default gpu-check.json).
// CI never compiles it (the gpu tag).

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/codegen"
	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/runtime"
	"github.com/modelc/modelc/runtime/cuda"
	"github.com/modelc/modelc/zoo"
)

type gpuModel struct {
	Name     string             `json:"name"`
	Batch    int                `json:"batch"`     // of the comparison
	MaxError float64            `json:"max_error"` // of the tolerance: ≤ 1 passes
	Rtol     float64            `json:"rtol"`
	Seconds  map[string]float64 `json:"seconds_per_run"` // median, by batch
	Error    string             `json:"error,omitempty"`
}

type gpuResult struct {
	Device   cuda.Info  `json:"device"`
	PeakFP32 float64    `json:"peak_fp32_tflops"`
	Models   []gpuModel `json:"models"`
	GemmTile string     `json:"gemm_tile"`
	GemmTF   float64    `json:"gemm_4096_tflops"`
}

func TestGPU(t *testing.T) {
	info, err := cuda.Device(0).Describe()
	require.NoError(t, err)
	res := gpuResult{Device: info, PeakFP32: info.PeakFP32() / 1e12}
	t.Logf("%s: compute capability %d.%d, %d SMs at %d MHz, FP32 peak %.1f TFLOP/s", info.Name, info.Major, info.Minor, info.SMs, info.ClockKHz/1000, res.PeakFP32)
	for _, name := range zoo.Names() {
		gm := gpuModel{Name: name, Rtol: 1e-3, Seconds: map[string]float64{}}
		if err := gpuModelCheck(t, name, &gm); err != nil {
			gm.Error = err.Error()
		}
		t.Logf("%s: %+v", name, gm)
		res.Models = append(res.Models, gm)
	}
	res.GemmTile, res.GemmTF = gemm4096(t)
	t.Logf("GEMM 4096³ (%s): %.2f TFLOP/s of %.1f", res.GemmTile, res.GemmTF, res.PeakFP32)
	out := os.Getenv("MODELC_GPU_RESULT")
	if out == "" {
		out = "gpu-check.json"
	}
	data, err := json.MarshalIndent(res, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, data, 0o644))
	for _, gm := range res.Models {
		require.Empty(t, gm.Error, gm.Name)
	}
}

// gpuModelCheck compiles a zoo model for the GPU (max batch 32), compares
// its outputs on the first (up to 32) test samples, and times it.
func gpuModelCheck(t *testing.T, name string, gm *gpuModel) error {
	m, err := frontend.LoadNamed(zoo.FS(), name)
	if err != nil {
		return err
	}
	c, err := compile.Compile(m, compile.Options{Version: "gpu-check", MaxBatch: 32, CUDA: &codegen.CUDAOptions{}})
	if err != nil {
		return err
	}
	tins, touts, err := m.TestData()
	if err != nil {
		return err
	}
	n := min(tins[0].Shape[0], 32)
	gm.Batch = n
	ex, p, err := loadProgram(c.CUDA, cuda.Device(0))
	if err != nil {
		return err
	}
	defer ex.Close()
	inb, outb, err := portBuffers(c, p, samples(tins, n))
	if err != nil {
		return err
	}
	if err := ex.Run(n, inb, outb); err != nil {
		return err
	}
	got := decodeF32(outb)
	for i, w := range samples(touts, n) {
		rep, err := match.Outputs(got[i], w.F, w.Shape[len(w.Shape)-1], gm.Rtol)
		gm.MaxError = max(gm.MaxError, rep.MaxErr)
		if err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
	}
	for _, b := range []int{1, n} {
		ins, outs := make([][]byte, len(inb)), make([][]byte, len(outb))
		for i, q := range p.Inputs {
			ins[i] = inb[i][:q.Bytes(b)]
		}
		for i, q := range p.Outputs {
			outs[i] = outb[i][:q.Bytes(b)]
		}
		var ds []time.Duration
		for range 21 {
			start := time.Now()
			if err := ex.Run(b, ins, outs); err != nil {
				return err
			}
			ds = append(ds, time.Since(start))
		}
		gm.Seconds[fmt.Sprint(b)] = median(ds[1:])
	}
	return nil
}

func median(ds []time.Duration) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2].Seconds()
}

// gemm4096 times one 4096×4096×4096 GEMM kernel (the occupancy rule's
// tile) on cuda.Device(0): a one-step program whose 4-byte output copy
// waits for the kernel.
func gemm4096(t *testing.T) (string, float64) {
	const N = 4096
	tile := ptx.ChooseTile(ptx.A100, N, N)
	k, l, err := ptx.Gemm(ptx.GemmSpec{M: ptx.Rows{B: N}, N: N, K: N, Tile: tile})
	require.NoError(t, err)
	var m ptx.Module
	m.Add(k)
	p := &runtime.DeviceProgram{Name: "gemm4096", MaxBatch: 1, PTX: map[string]string{},
		Buffers: []runtime.Buffer{{B: 4 * N * N}, {B: 4 * N * N}},
		Outputs: []runtime.DevicePort{{Name: "sync", B: 4}}}
	for _, target := range ptx.Targets {
		p.PTX[target] = string(m.Render(target))
	}
	st := runtime.DeviceStep{Name: "gemm", Kernel: l.Kernel, Block: l.Block}
	for i, g := range l.Grid {
		st.Grid[i] = runtime.GridDim{A: g.A, B: g.B, Div: g.Div}
	}
	for _, a := range l.Args {
		switch a.Ptr {
		case "":
			st.Args = append(st.Args, runtime.DeviceArg{Space: runtime.SpaceCount, A: a.A, B: a.B})
		case "x":
			st.Args = append(st.Args, runtime.DeviceArg{Space: runtime.SpaceArena, Index: 0})
		case "y":
			st.Args = append(st.Args, runtime.DeviceArg{Space: runtime.SpaceArena, Index: 1})
		case "w":
			st.Args = append(st.Args, runtime.DeviceArg{Space: runtime.SpaceWeights})
		default:
			t.Fatalf("GEMM operand %s", a.Ptr)
		}
	}
	p.Steps = []runtime.DeviceStep{st}
	w := make([]byte, 4*N*N)
	for i := 0; i < len(w); i += 4 {
		binary.LittleEndian.PutUint32(w[i:], math.Float32bits(float32(i%7)/7))
	}
	ex, err := cuda.Device(0).Load(p, runtime.DeviceBinding{Weights: w})
	require.NoError(t, err)
	defer ex.Close()
	out := [][]byte{make([]byte, 4)}
	var ds []time.Duration
	for range 11 {
		start := time.Now()
		require.NoError(t, ex.Run(1, nil, out))
		ds = append(ds, time.Since(start))
	}
	return tile.String(), 2 * N * N * N / median(ds[1:]) / 1e12
}
