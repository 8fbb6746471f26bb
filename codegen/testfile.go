package codegen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"go/format"
	"math"
	"text/template"

	"github.com/modelc/modelc/codegen/isa"
	"github.com/modelc/modelc/internal/gosafe"
	"github.com/modelc/modelc/ir"
)

// testFiles writes model_test.go and testdata/vectors.bin: the test
// vectors the package was built with, checked by design.md's rule for
// model outputs. The test imports only the standard library and the
// runtime, so an app's go.sum inherits no test dependency.
func (g *gen) testFiles() ([]byte, []byte, error) {
	v := g.in.Test
	if len(v.Inputs) != len(g.ins) || len(v.Outputs) != len(g.outs) {
		return nil, nil, fmt.Errorf("test vectors: %d inputs and %d outputs, the model has %d and %d", len(v.Inputs), len(v.Outputs), len(g.ins), len(g.outs))
	}
	var data bytes.Buffer
	type slot struct {
		Field, Name, Elem string
		Quoted            string // Name as a Go literal
		Off, Len, RowLen  int
		Static            bool // the same size at every batch
	}
	var ins, outs []slot
	batch := 0
	put := func(p port, t *ir.Tensor) (slot, error) {
		switch {
		case p.static:
			if t.Numel() != p.perSample {
				return slot{}, fmt.Errorf("test vector for %s has %d elements, want %d", p.v.Name, t.Numel(), p.perSample)
			}
		case p.perSample == 0 || t.Numel()%p.perSample != 0:
			return slot{}, fmt.Errorf("test vector for %s has %d elements, not a multiple of %d", p.v.Name, t.Numel(), p.perSample)
		default:
			b := t.Numel() / p.perSample
			if batch != 0 && b != batch {
				return slot{}, fmt.Errorf("test vectors hold different batches (%d and %d)", batch, b)
			}
			batch = b
		}
		s := slot{Field: p.field, Name: p.v.Name, Quoted: gosafe.Quote(p.v.Name), Elem: p.elem, Off: data.Len(), Len: t.Numel(), Static: p.static}
		if sh := p.v.Type.Shape; sh.Rank() > 0 {
			s.RowLen = sh[sh.Rank()-1].At(1)
		}
		for i := 0; i < t.Numel(); i++ {
			if p.elem == "float32" {
				binary.Write(&data, binary.LittleEndian, math.Float32bits(float32(t.Float(i))))
			} else {
				binary.Write(&data, binary.LittleEndian, int64(t.Float(i)))
			}
		}
		return s, nil
	}
	for i, p := range g.ins {
		s, err := put(p, v.Inputs[i])
		if err != nil {
			return nil, nil, err
		}
		ins = append(ins, s)
	}
	for i, p := range g.outs {
		if p.elem != "float32" {
			return nil, nil, fmt.Errorf("test vectors: integer output %s is not supported yet", p.v.Name)
		}
		s, err := put(p, v.Outputs[i])
		if err != nil {
			return nil, nil, err
		}
		outs = append(outs, s)
	}
	if batch == 0 {
		batch = 1 // static inputs only
	}
	var src bytes.Buffer
	err := testTemplate.Execute(&src, map[string]any{
		"Header": g.header(), "Package": g.in.Package, "Runtime": g.in.RuntimeImport,
		"Ins": ins, "Outs": outs, "Batch": batch, "Rtol": ir.FormatFloat(v.Rtol), "Predict": len(g.ins) == 1 && len(g.outs) == 1,
		"Flags": g.tierFlags(), "External": g.in.ExternalWeights, "HugeBatch": g.hugeBatch(), "Grows": g.sampleBytes() > 0,
	})
	if err != nil {
		return nil, nil, err
	}
	formatted, err := format.Source(src.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("BUG: codegen: model_test.go does not format: %v", err)
	}
	return formatted, data.Bytes(), nil
}

// hugeBatch is a max batch at which the package's arena needs more than
// 2⁵⁰ bytes (0 when no buffer grows with the batch), for the generated
// TestContracts.
func (g *gen) hugeBatch() int {
	most := 0
	for _, b := range g.arena {
		most = max(most, b.Bytes.A)
	}
	if most == 0 {
		return 0
	}
	return 1<<50/most + 1
}

// tierFlag is one tier flag of the package, for its TestTier.
type tierFlag struct{ Target, Tier, Flag string }

// tierFlags lists the tier flags of the targets whose kernels the package
// calls, in the order the tier switches try them.
func (g *gen) tierFlags() []tierFlag {
	var fs []tierFlag
	for _, t := range targets {
		used := false
		for _, k := range g.ks.vector {
			used = used || k.t == t
		}
		if !used {
			continue
		}
		for _, tier := range t.Tiers() {
			fs = append(fs, tierFlag{t.Name(), tier.Name, isa.Flag(t, tier)})
		}
	}
	return fs
}

var testTemplate = template.Must(template.New("test").Parse(`{{.Header}}package {{.Package}}

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	rt "{{.Runtime}}"
)
{{if .External}}
// The weights are not embedded (modelc build --external-weights): the
// tests read the package's weights.bin.
func init() { defaultWeightsFile = "weights.bin" }
{{end}}
// vectors reads testdata/vectors.bin: the inputs and expected outputs
// modelc stored when it generated this package.
func vectors(t *testing.T) (Inputs, Outputs, Outputs) {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.bin")
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(off, n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
		}
		return v
	}
	i64 := func(off, n int) []int64 {
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(binary.LittleEndian.Uint64(data[off+8*i:]))
		}
		return v
	}
	_, _ = f32, i64
	in := Inputs{ {{- range .Ins}}{{.Field}}: {{if eq .Elem "float32"}}f32{{else}}i64{{end}}({{.Off}}, {{.Len}}), {{end -}} }
	want := Outputs{ {{- range .Outs}}{{.Field}}: f32({{.Off}}, {{.Len}}), {{end -}} }
	got := Outputs{ {{- range .Outs}}{{.Field}}: make([]float32, {{.Len}}), {{end -}} }
	return in, got, want
}

// match applies the rule for model outputs of modelc's docs/design.md
// ("What matches means"): |a−b| ≤ rtol·(|b| + max|b|), and equal argmax
// per row where the top-2 margin exceeds 1e-3·max|b|.
func match(t *testing.T, name string, got, want []float32, rowLen int, rtol float64) {
	t.Helper()
	var maxB float64
	for _, w := range want {
		maxB = math.Max(maxB, math.Abs(float64(w)))
	}
	for i := range want {
		a, b := float64(got[i]), float64(want[i])
		if !(math.Abs(a-b) <= rtol*(math.Abs(b)+maxB)) {
			t.Fatalf("%s[%d] = %g, want %g (rtol %g)", name, i, a, b, rtol)
		}
	}
	for r := 0; rowLen > 1 && (r+1)*rowLen <= len(want); r++ {
		g, w := got[r*rowLen:(r+1)*rowLen], want[r*rowLen:(r+1)*rowLen]
		wi, margin := top2(w)
		if gi, _ := top2(g); margin > 1e-3*maxB && gi != wi {
			t.Errorf("%s row %d: argmax %d, want %d", name, r, gi, wi)
		}
	}
}

func top2(v []float32) (int, float64) {
	best, second := 0, math.Inf(-1)
	for i := 1; i < len(v); i++ {
		if v[i] > v[best] {
			second, best = float64(v[best]), i
		} else if float64(v[i]) > second {
			second = float64(v[i])
		}
	}
	return best, float64(v[best]) - second
}

func TestVectors(t *testing.T) {
	in, got, want := vectors(t)
	for _, opts := range [][]Option{nil, {withCopiedWeights()}, {WithWeightsFile("weights.bin")}} {
		m, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background(), &got, &in); err != nil {
			t.Fatal(err)
		}
{{- range .Outs}}
		match(t, {{.Quoted}}, got.{{.Field}}, want.{{.Field}}, {{.RowLen}}, {{$.Rtol}})
{{- end}}
	}
}

// TestContracts: nil arguments and max batches New cannot honour are
// errors of the runtime's kinds, never panics.
func TestContracts(t *testing.T) {
	in, got, _ := vectors(t)
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range []error{m.Run(nil, &got, &in), m.Run(context.Background(), nil, &in), m.Run(context.Background(), &got, nil)} {
		if !errors.Is(err, rt.ErrNilArgument) {
			t.Errorf("nil argument %d: got %v, want ErrNilArgument", i, err)
		}
	}
	for _, b := range []int{0, -1, math.MinInt} {
		if _, err := New(WithMaxBatch(b)); !errors.Is(err, rt.ErrMaxBatch) {
			t.Errorf("WithMaxBatch(%d): got %v, want ErrMaxBatch", b, err)
		}
	}
{{- if .HugeBatch}}
	// A batch whose arena would need more than a petabyte, and one whose sizes overflow.
	for _, b := range []int{ {{.HugeBatch}}, math.MaxInt} {
		if _, err := New(WithMaxBatch(b)); !errors.Is(err, rt.ErrMaxBatch) && !errors.Is(err, rt.ErrArena) {
			t.Errorf("WithMaxBatch(%d): got %v, want ErrMaxBatch or ErrArena", b, err)
		}
	}
{{- else if .Grows}}
	// A batch whose sizes overflow.
	if _, err := New(WithMaxBatch(math.MaxInt)); !errors.Is(err, rt.ErrMaxBatch) {
		t.Errorf("WithMaxBatch(MaxInt): got %v, want ErrMaxBatch", err)
	}
{{- end}}
}

func TestWrongSizes(t *testing.T) {
	in, got, _ := vectors(t)
	m, err := New(WithMaxBatch(1))
	if err != nil {
		t.Fatal(err)
	}
{{- if gt .Batch 1}}
	if err := m.Run(context.Background(), &got, &in); !errors.Is(err, rt.ErrBatch) && !errors.Is(err, rt.ErrOutputSize) {
		t.Errorf("batch above the max: got %v, want ErrBatch", err)
	}
{{- end}}
{{- with index .Ins 0}}
	in.{{.Field}} = in.{{.Field}}[:len(in.{{.Field}})-1]
{{- end}}
	if err := m.Run(context.Background(), &got, &in); !errors.Is(err, rt.ErrInputSize) {
		t.Errorf("short input: got %v, want ErrInputSize", err)
	}
}
// TestNoAllocs: after one warm-up call at a batch, Run allocates nothing.
func TestNoAllocs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	in, got, _ := vectors(t)
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Run(ctx, &got, &in); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(5, func() { m.Run(ctx, &got, &in) }); a != 0 {
		t.Errorf("Run allocates %v times per call", a)
	}
}

// TestCloneConcurrent: clones share weights and run in parallel (under
// -race too) with the results of a single caller, at batch 1.
func TestCloneConcurrent(t *testing.T) {
	in, want, _ := vectors(t)
	one := func(x Inputs) Inputs {
		return Inputs{ {{- range .Ins}}{{.Field}}: x.{{.Field}}[:len(x.{{.Field}}){{if not .Static}}/{{$.Batch}}{{end}}], {{end -}} }
	}
	in = one(in)
	want = Outputs{ {{- range .Outs}}{{.Field}}: make([]float32, {{.Len}}{{if not .Static}}/{{$.Batch}}{{end}}), {{end -}} }
	m, err := New(WithMaxBatch(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), &want, &in); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			c := m.Clone()
			got := Outputs{ {{- range .Outs}}{{.Field}}: make([]float32, {{.Len}}{{if not .Static}}/{{$.Batch}}{{end}}), {{end -}} }
			for i := 0; i < 3; i++ {
				if err := c.Run(context.Background(), &got, &in); err != nil {
					errs <- err
					return
				}
{{- range .Outs}}
				for j := range got.{{.Field}} {
					if got.{{.Field}}[j] != want.{{.Field}}[j] {
						errs <- fmt.Errorf("clone: {{.Field}}[%d] = %v, single caller %v", j, got.{{.Field}}[j], want.{{.Field}}[j])
						return
					}
				}
{{- end}}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
{{if .Predict}}
func TestPredictAppends(t *testing.T) {
	in, _, want := vectors(t)
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dst := []float32{42}
{{- with index .Ins 0}}
	dst, err = m.Predict(dst, in.{{.Field}})
{{- end}}
	if err != nil {
		t.Fatal(err)
	}
	if dst[0] != 42 {
		t.Fatalf("Predict overwrote dst's existing element")
	}
	// With capacity in dst, Predict allocates nothing (GOMAXPROCS=2).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	buf := make([]float32, 0, len(dst))
{{- with index .Ins 0}}
	if a := testing.AllocsPerRun(5, func() { buf, _ = m.Predict(buf[:0], in.{{.Field}}) }); a != 0 {
		t.Errorf("Predict allocates %v times per call", a)
	}
{{- end}}
{{- with index .Outs 0}}
	match(t, {{.Quoted}}, dst[1:], want.{{.Field}}, {{.RowLen}}, {{$.Rtol}})
{{- end}}
}
{{end}}
// TestWeightsFileErrors: a truncated or corrupt copy of weights.bin, and
// a missing file, are errors from New (TestVectors checks the good file).
func TestWeightsFileErrors(t *testing.T) {
	data, err := os.ReadFile("weights.bin")
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)-1] ^= 1
	dir := t.TempDir()
	for name, bad := range map[string][]byte{"truncated": data[:len(data)-8], "corrupt": corrupt} {
		p := filepath.Join(dir, name+".bin")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := New(WithWeightsFile(p)); !errors.Is(err, rt.ErrWeightsFile) {
			t.Errorf("%s weights file: got %v, want ErrWeightsFile", name, err)
		}
	}
	if _, err := New(WithWeightsFile(filepath.Join(dir, "missing.bin"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing weights file: got %v", err)
	}
}

// TestTier checks the tier the kernels run at against MODELC_WANT_TIER,
// which make test's dispatch matrix sets beside each GODEBUG setting
// (cpu.avx512f=off, cpu.avx2=off, …) and the purego tag.
func TestTier(t *testing.T) {
	t.Logf("kernels run at tier %v", rt.CPUTier())
{{- if .Flags}}
	// The tier flags, best first per target: at the CPU's tier, the
	// flags of its tier and the ones below are on and the rest off.
	flags := []struct {
		target, tier string
		on           bool
	}{
{{- range .Flags}}
		{ {{printf "%q" .Target}}, {{printf "%q" .Tier}}, {{.Flag}} },
{{- end}}
	}
	tier := rt.CPUTier().String()
	at := map[string]int{}
	for i, f := range flags {
		if f.tier == tier {
			at[f.target] = i + 1
		}
	}
	for i, f := range flags {
		want := f.on
		switch {
		case tier == "generic":
			want = false
		case at[f.target] > 0:
			want = i+1 >= at[f.target]
		}
		if f.on != want {
			t.Errorf("at tier %s, the %s kernels' flag %s is %v", tier, f.target, f.tier, f.on)
		}
	}
{{- end}}
	want := os.Getenv("MODELC_WANT_TIER")
	if want == "" {
		t.Skip("MODELC_WANT_TIER not set")
	}
	if got := rt.CPUTier().String(); got != want {
		t.Fatalf("tier %s, want %s", got, want)
	}
}
`))
