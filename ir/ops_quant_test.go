package ir

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// qgraph builds a graph with one quantized input x of type xt and the
// nodes fn adds; fn returns the outputs.
func qgraph(t *testing.T, xt Type, fn func(b *Builder, x *Value) []*Value) *Graph {
	t.Helper()
	b := NewBuilder("q")
	x, err := b.Input("x", xt)
	if err != nil {
		t.Fatal(err)
	}
	b.G.Outputs = fn(b, x)
	if err := Verify(b.G); err != nil {
		t.Fatal(err)
	}
	return b.G
}

// must returns v, panicking on a setup error (the test fails with it).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// randInts fills n values of [lo, hi] with the ends over-represented.
func randInts(r *rand.Rand, n int, lo, hi int64) []int64 {
	v := make([]int64, n)
	for i := range v {
		switch r.IntN(8) {
		case 0:
			v[i] = lo
		case 1:
			v[i] = hi
		default:
			v[i] = lo + r.Int64N(hi-lo+1)
		}
	}
	return v
}

func intTensor(dt DType, shape []int, v []int64) *Tensor {
	return &Tensor{DType: dt, Shape: shape, I: v}
}

func f32Tensor(shape []int, v []float32) *Tensor {
	return &Tensor{DType: F32, Shape: shape, F: v}
}

// TestQLinearAccumulator checks qlinear's and qconv2d's i32 results
// against linear and conv2d on the same integers as floats (x − Z_x and
// w), which the float64 accumulation computes exactly: an independent
// oracle for the integer loops, the zero point and the padding.
func TestQLinearAccumulator(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		xt DType
		zp int64
	}{{U8, 0}, {U8, 128}, {U8, 255}, {I8, 0}, {I8, -128}, {I8, 17}, {I16, -300}} {
		xt := Type{DType: c.xt, Shape: Shape{N, D(2), D(5), D(6)}, Quant: Quant{Scale: 0.5, ZeroPoint: c.zp}}
		lo, hi, _ := IntRange(c.xt)
		wt := I8
		wlo, whi := int64(-128), int64(127)
		if c.xt == I16 {
			wt, wlo, whi = I16, -300, 300 // sums within int32 (the i32 result wraps)
		}
		w := intTensor(wt, []int{3, 2, 3, 2}, randInts(r, 36, wlo, whi))
		bias := intTensor(I32, []int{3}, []int64{5, -1 << 20, 0})
		wsT := f32Tensor([]int{3}, []float32{1, 1, 1})
		conv := &QConv2D{Stride: []int{2, 1}, Pad: []int{1, 0, 2, 1}, Dilation: []int{1, 2}, Groups: 1, Acc: 64, QFormat: QFormat{To: I32}}
		g := qgraph(t, xt, func(b *Builder, x *Value) []*Value {
			wv := must(b.Const("w", w))
			ws := must(b.Const("ws", wsT))
			bv := must(b.Const("b", bias))
			y := must(b.Add1("conv", conv, []*Value{x, wv, ws, bv}, "y"))
			return []*Value{y}
		})
		// The float twin: conv2d(float(x − zp), float(w), float(b)).
		fconv := &Conv2D{Stride: conv.Stride, Pad: conv.Pad, Dilation: conv.Dilation, Groups: 1}
		fb := NewBuilder("f")
		fx := must(fb.Input("x", TensorType(F32, xt.Shape)))
		fw := &Tensor{DType: F32, Shape: w.Shape, F: make([]float32, 36)}
		for i, v := range w.I {
			fw.F[i] = float32(v)
		}
		fwv := must(fb.Const("w", fw))
		fbv := must(fb.Const("b", f32Tensor([]int{3}, []float32{5, -1 << 20, 0})))
		fy := must(fb.Add1("conv", fconv, []*Value{fx, fwv, fbv}, "y"))
		fb.G.Outputs = []*Value{fy}
		for _, batch := range []int{1, 3} {
			xi := intTensor(c.xt, []int{batch, 2, 5, 6}, randInts(r, batch*60, lo, hi))
			got := must(Eval(g, xi))[0]
			xf := f32Tensor(xi.Shape, make([]float32, len(xi.I)))
			for i, v := range xi.I {
				xf.F[i] = float32(v - c.zp)
			}
			want := must(Eval(fb.G, xf))[0]
			for i := range got.I {
				if float32(got.I[i]) != want.F[i] {
					t.Fatalf("%s zp %d batch %d: qconv2d[%d] = %d, conv2d on the integers %g", c.xt, c.zp, batch, i, got.I[i], want.F[i])
				}
			}
		}
	}
}

// TestQLinearEpilogues checks each epilogue against the real-number
// formula it approximates: canonical requantization within 0.5 LSB plus
// the multiplier's 2^−31 relative error, the float form exactly as
// float32 arithmetic rounds, the f32 result one rounding of acc·scale,
// and the ReLU clamp at the zero point.
func TestQLinearEpilogues(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const K, Nout = 37, 5
	xt := Type{DType: U8, Shape: Shape{N, D(K)}, Quant: Quant{Scale: 0.0234375, ZeroPoint: 131}}
	w := intTensor(I8, []int{Nout, K}, randInts(r, Nout*K, -127, 127))
	wsv := []float32{0.001953125, 0.0037841796875, 0.015625, 1.5, 0.0003}
	bias := intTensor(I32, []int{Nout}, []int64{0, 1000, -1000, 7, -70000})
	out := QFormat{To: I8, Scale: 0.0703125, ZP: -3}
	type layer struct {
		name string
		op   *QLinear
	}
	layers := []layer{
		{"canonical", &QLinear{Acc: 32, QFormat: out}},
		{"relu", &QLinear{Acc: 32, Act: "relu", QFormat: out}},
		{"float", &QLinear{Acc: 32, Requant: "float", QFormat: out}},
		{"f32", &QLinear{Acc: 32, QFormat: QFormat{To: F32}}},
		{"acc", &QLinear{Acc: 32, QFormat: QFormat{To: I32}}},
	}
	g := qgraph(t, xt, func(b *Builder, x *Value) []*Value {
		wv := must(b.Const("w", w))
		ws := must(b.Const("ws", f32Tensor([]int{Nout}, wsv)))
		bv := must(b.Const("b", bias))
		var outs []*Value
		for _, l := range layers {
			outs = append(outs, must(b.Add1(l.name, l.op, []*Value{x, wv, ws, bv}, l.name)))
		}
		return outs
	})
	const rows = 64
	xi := intTensor(U8, []int{rows, K}, randInts(r, rows*K, 0, 255))
	res := must(Eval(g, xi))
	canon, relu, flt, f32, acc := res[0], res[1], res[2], res[3], res[4]
	sy := out.Scale
	for i := range rows * Nout {
		j := i % Nout
		a := acc.I[i]
		sx := xt.Quant.Scale
		// canonical: |y − zp − acc·M| ≤ 0.5 + |acc·M|·2^−31, or saturated.
		m := new(big.Rat).SetFloat64(sx)
		m.Mul(m, new(big.Rat).SetFloat64(float64(wsv[j])))
		m.Quo(m, new(big.Rat).SetFloat64(sy))
		mf, _ := m.Float64()
		exact := float64(a) * mf
		y := canon.I[i]
		switch {
		case exact+float64(out.ZP) > 127.5:
			if y != 127 {
				t.Fatalf("canonical [%d]: acc %d·%g = %g saturates, got %d", i, a, mf, exact, y)
			}
		case exact+float64(out.ZP) < -128.5:
			if y != -128 {
				t.Fatalf("canonical [%d]: acc %d·%g = %g saturates, got %d", i, a, mf, exact, y)
			}
		case math.Abs(float64(y-int64(out.ZP))-exact) > 0.5+math.Abs(exact)*math.Exp2(-30):
			t.Fatalf("canonical [%d]: acc %d·M %g = %g, got %d (zp %d)", i, a, mf, exact, y, out.ZP)
		}
		if want := max(y, int64(out.ZP)); relu.I[i] != want {
			t.Fatalf("relu [%d] = %d, want max(%d, zp %d)", i, relu.I[i], y, out.ZP)
		}
		// float: (sx·ws)/sy in float32, acc in float32, half to even.
		fs := float32(sx) * wsv[j] / float32(sy)
		v := float64(float32(a) * fs)
		want := int64(math.RoundToEven(math.Max(math.Min(v, 127+3), -128+3))) - 3
		if flt.I[i] != want {
			t.Fatalf("float [%d] = %d, want %d (acc %d, scale %g)", i, flt.I[i], want, a, fs)
		}
		if wantF := float32(a) * float32(sx*float64(wsv[j])); f32.F[i] != wantF {
			t.Fatalf("f32 [%d] = %g, want %g", i, f32.F[i], wantF)
		}
	}
}

// TestQLinearAccWraps: acc=32 wraps as int32 kernels do; acc=64 does not.
func TestQLinearAccWraps(t *testing.T) {
	const K = 4
	xt := Type{DType: I16, Shape: Shape{N, D(K)}, Quant: Quant{WordLen: 16, FracLen: 0}}
	w := intTensor(I16, []int{1, K}, []int64{32767, 32767, 32767, 32767})
	g := qgraph(t, xt, func(b *Builder, x *Value) []*Value {
		wv := must(b.Const("w", w))
		ws := must(b.Const("ws", f32Tensor([]int{1}, []float32{1})))
		a32 := must(b.Add1("a32", &QLinear{Acc: 32, QFormat: QFormat{To: F32}}, []*Value{x, wv, ws}, "a32"))
		a64 := must(b.Add1("a64", &QLinear{Acc: 64, QFormat: QFormat{To: F32}}, []*Value{x, wv, ws}, "a64"))
		return []*Value{a32, a64}
	})
	res := must(Eval(g, intTensor(I16, []int{1, K}, []int64{32767, 32767, 32767, 32767})))
	full := int64(4) * 32767 * 32767
	if res[1].F[0] != float32(full) {
		t.Errorf("acc=64: %g, want %d", res[1].F[0], full)
	}
	if res[0].F[0] != float32(int32(full)) {
		t.Errorf("acc=32: %g, want the int32 wrap %d", res[0].F[0], int32(full))
	}
}

func TestQuantizeRequantize(t *testing.T) {
	xt := TensorType(F32, Shape{N, D(6)})
	g := qgraph(t, xt, func(b *Builder, x *Value) []*Value {
		q := must(b.Add1("", &Quantize{QFormat{To: I8, WL: 6, FL: 2}}, []*Value{x}, "q"))
		rq := must(b.Add1("", &Requantize{QFormat{To: U8, Scale: 0.5, ZP: 100}}, []*Value{q}, "rq"))
		dq := must(b.Add1("", Simple{K: KDequantize}, []*Value{rq}, "dq"))
		return []*Value{q, rq, dq}
	})
	x := f32Tensor([]int{1, 6}, []float32{0.375, -0.375, 100, -100, 0.625, float32(math.NaN())})
	res := must(Eval(g, x))
	// Q(6 bits, FL 2): ·4, half to even, clamp to [−32, 31].
	wantQ := []int64{2, -2, 31, -32, 2, 0}
	// ·0.5 (2^−2 / 0.5): half up, + 100.
	wantR := []int64{101, 99, 116, 84, 101, 100}
	for i := range wantQ {
		if res[0].I[i] != wantQ[i] || res[1].I[i] != wantR[i] {
			t.Errorf("[%d]: quantize %d (want %d), requantize %d (want %d)", i, res[0].I[i], wantQ[i], res[1].I[i], wantR[i])
		}
		if want := float32(wantR[i]-100) * 0.5; res[2].F[i] != want {
			t.Errorf("[%d]: dequantize %g, want %g", i, res[2].F[i], want)
		}
	}
	// A plain integer takes the format as it is, saturated.
	p := qgraph(t, TensorType(I32, Shape{N, D(3)}), func(b *Builder, x *Value) []*Value {
		return []*Value{must(b.Add1("", &Requantize{QFormat{To: U8, Scale: 2, ZP: 7}}, []*Value{x}, "y"))}
	})
	got := must(Eval(p, intTensor(I32, []int{1, 3}, []int64{-5, 7, 300})))[0].I
	if got[0] != 0 || got[1] != 7 || got[2] != 255 {
		t.Errorf("requantize of a plain integer = %v, want [0 7 255]", got)
	}
}

func TestQuantTypeErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"graph g {\n input %x: f32[2]\n %q = quantize (%x) {to=i8}: i8[2]\n output %q\n}", "needs its format"},
		{"graph g {\n input %x: f32[2]\n %q = quantize (%x) {to=i8, scale=0.1}: i8[2]<scale=0.1,zp=0>\n output %q\n}", "float32 value"},
		{"graph g {\n input %x: f32[2]\n %q = quantize (%x) {to=u8, scale=0.5, zp=300}: u8[2]<scale=0.5,zp=300>\n output %q\n}", "outside u8's range"},
		{"graph g {\n input %x: f32[2]\n %q = quantize (%x) {to=i8, wl=9}: i8[2]<fixed=9.0>\n output %q\n}", "does not fit i8"},
		{"graph g {\n input %x: f32[2]\n %q = quantize (%x) {to=i8, wl=8, scale=0.5}: i8[2]\n output %q\n}", "not both"},
		{"graph g {\n input %x: i8[2]\n %q = dequantize (%x): f32[2]\n output %q\n}", "must be a quantized integer"},
		{"graph g {\n input %x: f32[2]<scale=0.5,zp=0>\n output %x\n}", "f32 cannot carry"},
		{"graph g {\n input %x: i8[N,2]<fixed=8.0>\n const %w: i8[1,2] = splat<1>\n const %s: f32[1] = splat<1>\n %y = qlinear (%x, %w, %s) {acc=16}: f32[N,1]\n output %y\n}", "acc must be 32 or 64"},
		{"graph g {\n input %x: i8[N,2]<fixed=8.0>\n const %w: i8[1,2] = splat<1>\n const %s: f32[2] = splat<1>\n %y = qlinear (%x, %w, %s): f32[N,1]\n output %y\n}", "ws must be f32[1]"},
		{"graph g {\n input %x: i8[N,2]<fixed=8.0>\n const %w: i8[1,2] = splat<1>\n const %s: f32[1] = splat<1>\n %y = qlinear (%x, %w, %s) {requant=\"float\"}: f32[N,1]\n output %y\n}", "needs a quantized result"},
		{"graph g {\n input %x: i8[N,2]<fixed=8.0>\n const %w: i8[1,2] = splat<1>\n const %s: f32[1] = splat<1>\n %y = qlinear (%x, %w, %s) {to=i32, act=\"relu\"}: i32[N,1]\n output %y\n}", "no act"},
		{"graph g {\n input %x: i8[N,2]\n const %w: i8[1,2] = splat<1>\n const %s: f32[1] = splat<1>\n %y = qlinear (%x, %w, %s): f32[N,1]\n output %y\n}", "must be a quantized integer"},
		{"graph g {\n input %x: i8[N,2]<fixed=8.0>\n %y = reshape (%x) {shape=[N,2]}: i8[N,2]\n output %y\n}", "its shape rule gives i8[N,2]<fixed=8.0>"},
	} {
		_, err := Parse("t.ir", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}
