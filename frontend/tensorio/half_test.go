package tensorio

import (
	"math"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// halfValue is an independent reference for the value of a finite half.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	if e == 0 {
		return sign * math.Ldexp(m, -24)
	}
	return sign * math.Ldexp(1+m/1024, e-15)
}

func TestFloat16ExhaustiveRoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := Float16ToFloat32(h)
		isNaN := h&0x7c00 == 0x7c00 && h&0x3ff != 0
		isInf := h&0x7fff == 0x7c00
		switch {
		case isNaN:
			require.True(t, math.IsNaN(float64(f)), "%#04x", h)
		case isInf:
			sign := 1
			if h&0x8000 != 0 {
				sign = -1
			}
			require.True(t, math.IsInf(float64(f), sign), "%#04x", h)
		default:
			require.Equal(t, halfValue(h), float64(f), "%#04x", h)
			require.Equal(t, h&0x8000 != 0, math.Signbit(float64(f)), "sign of %#04x", h)
		}
		// Identity even for NaN: payloads survive.
		require.Equal(t, h, Float32ToFloat16(f), "%#04x", h)
	}
}

func TestBFloat16ExhaustiveRoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BFloat16ToFloat32(h)
		require.Equal(t, math.Float32bits(f), uint32(h)<<16)
		require.Equal(t, h, Float32ToBFloat16(f), "%#04x", h)
	}
}

// checkRNE checks conv against round-to-nearest-even at every midpoint
// between consecutive finite positive values of a 16-bit format (and one
// float32 ulp either side of it), for both signs. values[i] is the value of
// bit pattern i; max is the largest finite pattern; inf its Inf pattern.
func checkRNE(t *testing.T, name string, conv func(float32) uint16, value func(uint16) float64, max, inf uint16) {
	t.Helper()
	for h := uint16(0); h <= max; h++ {
		lo := value(h)
		var hi float64
		var hiBits uint16
		if h == max {
			// Above the largest finite value, Inf takes the place
			// of the next pattern: the midpoint rounds to Inf (even).
			hiBits = inf
			hi = value(h) + (value(h) - value(h-1))
		} else {
			hiBits = h + 1
			hi = value(h + 1)
		}
		mid := float32((lo + hi) / 2)
		require.Equal(t, (lo+hi)/2, float64(mid), "%s midpoint not exact", name)
		even := h
		if h&1 == 1 {
			even = hiBits
		}
		below := math.Nextafter32(mid, float32(math.Inf(-1)))
		above := math.Nextafter32(mid, float32(math.Inf(1)))
		for _, s := range []uint16{0, 0x8000} {
			neg := func(f float32) float32 {
				if s != 0 {
					return -f
				}
				return f
			}
			require.Equal(t, s|even, conv(neg(mid)), "%s tie above %#04x", name, h)
			require.Equal(t, s|h, conv(neg(below)), "%s below midpoint above %#04x", name, h)
			require.Equal(t, s|hiBits, conv(neg(above)), "%s above midpoint above %#04x", name, h)
			require.Equal(t, s|h, conv(neg(float32(lo))), "%s exact %#04x", name, h)
		}
	}
}

func TestFloat32ToFloat16Rounding(t *testing.T) {
	checkRNE(t, "f16", Float32ToFloat16, halfValue, 0x7bff, 0x7c00)
}

func TestFloat32ToBFloat16Rounding(t *testing.T) {
	checkRNE(t, "bf16", Float32ToBFloat16, func(h uint16) float64 { return float64(BFloat16ToFloat32(h)) }, 0x7f7f, 0x7f80)
}

// TestFloat32ToFloat16Sampled compares against a table-based reference for
// a broad sample of float32 bit patterns, including ones far outside the
// half range and float32 subnormals.
func TestFloat32ToFloat16Sampled(t *testing.T) {
	var table []float64 // all finite non-negative halves, ascending
	for h := uint16(0); h <= 0x7bff; h++ {
		table = append(table, halfValue(h))
	}
	ref := func(x float32) uint16 {
		var s uint16
		v := float64(x)
		if math.Signbit(v) {
			s, v = 0x8000, -v
		}
		if v >= 65520 {
			return s | 0x7c00
		}
		i := sort.SearchFloat64s(table, v) // table[i] >= v
		if i == len(table) {
			return s | 0x7bff // in (65504, 65520): nearer the max
		}
		if table[i] == v {
			return s | uint16(i)
		}
		lo, hi := table[i-1], table[i]
		switch {
		case v-lo < hi-v:
			return s | uint16(i-1)
		case v-lo > hi-v:
			return s | uint16(i)
		case (i-1)&1 == 0:
			return s | uint16(i-1)
		}
		return s | uint16(i)
	}
	for hi := uint32(0); hi < 1<<32-1<<12; hi += 1 << 12 {
		if hi&0x7f800000 == 0x7f800000 {
			continue // Inf/NaN tested elsewhere
		}
		for _, lo := range []uint32{0, 1, 0x7ff, 0x800, 0xfff} {
			x := math.Float32frombits(hi | lo)
			if got, want := Float32ToFloat16(x), ref(x); got != want {
				t.Fatalf("Float32ToFloat16(%g = %#08x) = %#04x, want %#04x", x, hi|lo, got, want)
			}
		}
	}
}

func TestHalfSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},       // max half
		{65519.996, 0x7bff},   // just below the overflow midpoint
		{65520, 0x7c00},       // midpoint to Inf: ties to even (Inf)
		{1e10, 0x7c00},        // overflow
		{-1e10, 0xfc00},       // overflow
		{inf, 0x7c00},         // +Inf
		{-inf, 0xfc00},        // -Inf
		{0x1p-24, 0x0001},     // smallest subnormal
		{0x1p-25, 0x0000},     // half of it: tie to even (0)
		{0x1.000002p-25, 1},   // just above the tie
		{0x3p-25, 0x0002},     // 1.5 × smallest: tie to even (2)
		{0x1p-14, 0x0400},     // smallest normal
		{0x3ffp-24, 0x03ff},   // largest subnormal
		{0x7ffp-25, 0x0400},   // tie between largest subnormal and smallest normal
		{0x1p-30, 0},          // underflow
		{0x1p-149, 0},         // float32 subnormal
		{1 + 0x1p-11, 0x3c00}, // tie, even stays
		{1 + 0x3p-11, 0x3c02}, // tie, odd rounds up
		{1 + 0x1p-10, 0x3c01},
	} {
		assert.Equal(t, c.want, Float32ToFloat16(c.f), "Float32ToFloat16(%g)", c.f)
	}
	nan := float32(math.NaN())
	for _, f := range []float32{nan, -nan, math.Float32frombits(0x7f800001), math.Float32frombits(0xff800001), math.Float32frombits(0x7fc00000)} {
		h := Float32ToFloat16(f)
		assert.True(t, h&0x7c00 == 0x7c00 && h&0x3ff != 0, "Float32ToFloat16(%#08x) = %#04x, want NaN", math.Float32bits(f), h)
		assert.Equal(t, math.Float32bits(f)>>31, uint32(h>>15), "sign of NaN")
		b := Float32ToBFloat16(f)
		assert.True(t, math.IsNaN(float64(BFloat16ToFloat32(b))), "Float32ToBFloat16(%#08x) = %#04x, want NaN", math.Float32bits(f), b)
	}
	assert.True(t, math.IsNaN(float64(Float16ToFloat32(0x7e00))))
	assert.True(t, math.IsInf(float64(Float16ToFloat32(0xfc00)), -1))
	assert.Equal(t, float32(0x1p-24), Float16ToFloat32(1))

	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3f80},
		{1 + 0x1p-8, 0x3f80},      // tie, even
		{1 + 0x3p-8, 0x3f82},      // tie, odd rounds up
		{math.MaxFloat32, 0x7f80}, // rounds to Inf
		{inf, 0x7f80},
		{-inf, 0xff80},
		{0x1p-133, 0x0001}, // bf16 subnormal
	} {
		assert.Equal(t, c.want, Float32ToBFloat16(c.f), "Float32ToBFloat16(%g)", c.f)
	}
}
