package numerics

import (
	"math"
	"testing"
)

// halfFormat is one 16-bit float format with its conversions.
type halfFormat struct {
	name   string
	widen  func(uint16) float32
	narrow func(float32) uint16
	inf    uint16 // +Inf's bits
}

var halfFormats = []halfFormat{
	{"f16", F16ToF32, F32ToF16, 0x7c00},
	{"bf16", BF16ToF32, F32ToBF16, 0x7f80},
}

// next is the value one step above h's (a positive finite value); for the
// largest finite value it is where the next step would be, the value
// whose midpoint with it rounds to Inf.
func (f halfFormat) next(h uint16) float64 {
	if h+1 != f.inf {
		return float64(f.widen(h + 1))
	}
	a, b := float64(f.widen(h-1)), float64(f.widen(h))
	return b + (b - a)
}

func TestHalfRoundTrip(t *testing.T) {
	for _, f := range halfFormats {
		for i := 0; i < 1<<16; i++ {
			h := uint16(i)
			x := f.widen(h)
			got := f.narrow(x)
			if x != x {
				// NaN stays NaN, quiet, with its sign.
				if got&0x7fff <= f.inf || got&0x8000 != h&0x8000 {
					t.Fatalf("%s: NaN %#04x narrows to %#04x", f.name, h, got)
				}
				continue
			}
			if got != h {
				t.Fatalf("%s: %#04x widens to %v, which narrows to %#04x", f.name, h, x, got)
			}
		}
	}
}

// TestHalfRounding checks every pair of neighbouring values: their
// midpoint (exact in float32) rounds to the even one of the two, and a
// float32 step either side of it to the nearer one, with either sign.
func TestHalfRounding(t *testing.T) {
	for _, f := range halfFormats {
		for h := uint16(0); h < f.inf; h++ {
			lo, hi := float64(f.widen(h)), f.next(h)
			mid := float32((lo + hi) / 2)
			if float64(mid) != (lo+hi)/2 {
				t.Fatalf("%s: the midpoint after %#04x is not a float32", f.name, h)
			}
			even := h
			if h&1 == 1 {
				even = h + 1
			}
			below := math.Nextafter32(mid, 0)
			above := math.Nextafter32(mid, float32(math.Inf(1)))
			for _, c := range []struct {
				x    float32
				want uint16
			}{{mid, even}, {below, h}, {above, h + 1}} {
				if got := f.narrow(c.x); got != c.want {
					t.Fatalf("%s: %v (between %#04x and the next) narrows to %#04x, want %#04x", f.name, c.x, h, got, c.want)
				}
				if got := f.narrow(-c.x); got != c.want|0x8000 {
					t.Fatalf("%s: %v narrows to %#04x, want %#04x", f.name, -c.x, got, c.want|0x8000)
				}
			}
		}
	}
}

func TestHalfSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		x         float32
		f16, bf16 uint16
	}{
		{0, 0, 0},
		{float32(math.Copysign(0, -1)), 0x8000, 0x8000},
		{1, 0x3c00, 0x3f80},
		{-2, 0xc000, 0xc000},
		{inf, 0x7c00, 0x7f80},
		{-inf, 0xfc00, 0xff80},
		{65504, 0x7bff, 0x4780},
		{65519.996, 0x7bff, 0x4780}, // just below the midpoint to Inf
		{65520, 0x7c00, 0x4780},     // the midpoint: ties to even, Inf
		{1e10, 0x7c00, 0x5015},
		{0x1p-14, 0x0400, 0x3880},      // f16's smallest normal
		{0x1p-24, 0x0001, 0x3380},      // f16's smallest subnormal
		{0x1p-25, 0x0000, 0x3300},      // half of it: ties to even, 0
		{0x1.8p-24, 0x0002, 0x33c0},    // 1.5 steps: ties to even, 2
		{0x1.0001p-25, 0x0001, 0x3300}, // above half a step
		{math.SmallestNonzeroFloat32, 0, 0x0000},
		{3.4028235e38, 0x7c00, 0x7f80}, // float32's largest rounds to Inf in bf16 too
	} {
		if got := F32ToF16(c.x); got != c.f16 {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.x, got, c.f16)
		}
		if got := F32ToBF16(c.x); got != c.bf16 {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", c.x, got, c.bf16)
		}
	}
	nan := float32(math.NaN())
	if h := F32ToF16(nan); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN) = %#04x, not a NaN", h)
	}
	if h := F32ToBF16(nan); h&0x7f80 != 0x7f80 || h&0x7f == 0 {
		t.Errorf("F32ToBF16(NaN) = %#04x, not a NaN", h)
	}
	// A NaN whose payload sits only in the bits narrowing drops stays NaN.
	low := math.Float32frombits(0x7f800001)
	if h := F32ToF16(low); h&0x3ff == 0 {
		t.Errorf("F32ToF16(%#08x) = %#04x, not a NaN", 0x7f800001, h)
	}
	if h := F32ToBF16(low); h&0x7f == 0 {
		t.Errorf("F32ToBF16(%#08x) = %#04x, not a NaN", 0x7f800001, h)
	}
	if F16ToF32(0x0001) != 0x1p-24 || F16ToF32(0x8001) != -0x1p-24 || F16ToF32(0x03ff) != 0x3ffp-24 {
		t.Errorf("f16 subnormals widen to %v, %v, %v", F16ToF32(0x0001), F16ToF32(0x8001), F16ToF32(0x03ff))
	}
	if !math.Signbit(float64(F16ToF32(0x8000))) {
		t.Errorf("f16 -0 widens to +0")
	}
}

func TestHalfSlices(t *testing.T) {
	src := []float32{1, -0.5, 65520, 0x1p-25, float32(math.Inf(-1))}
	h := make([]uint16, len(src)+1) // longer than src: only len(src) written
	ToF16(h, src)
	want := []uint16{0x3c00, 0xb800, 0x7c00, 0, 0xfc00, 0}
	for i := range want {
		if h[i] != want[i] {
			t.Fatalf("ToF16: %#04x, want %#04x", h, want)
		}
	}
	back := make([]float32, len(src))
	FromF16(back, h[:len(src)])
	if back[0] != 1 || back[1] != -0.5 || !math.IsInf(float64(back[2]), 1) || back[3] != 0 {
		t.Fatalf("FromF16: %v", back)
	}
	b := make([]uint16, len(src))
	ToBF16(b, src)
	FromBF16(back, b)
	if back[0] != 1 || back[1] != -0.5 || back[2] != 65536 || back[3] != 0x1p-25 {
		t.Fatalf("bf16 round trip: %v", back)
	}
}
