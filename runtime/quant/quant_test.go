package quant

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigRequant is Requant by big.Int: floor((acc·M0 + 2^(30+s)) / 2^(31+s)).
func bigRequant(acc int64, m Multiplier) *big.Int {
	sh := uint(31 + m.S)
	p := new(big.Int).Mul(big.NewInt(acc), big.NewInt(int64(m.M0)))
	p.Add(p, new(big.Int).Lsh(big.NewInt(1), sh-1))
	return p.Rsh(p, sh) // Rsh on big.Int rounds toward −∞, an arithmetic shift
}

func TestEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		// M log-uniform in [2^−40, 4).
		m := math.Exp2(-40 + 42*rng.Float64())
		q, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(%g): %v", m, err)
		}
		if q.M0 < 1<<30 || q.S < MinShift || q.S > MaxShift {
			t.Fatalf("Encode(%g) = %+v: M0 not in [2^30, 2^31) or S out of range", m, q)
		}
		if m < math.Exp2(-32) {
			continue // clamped: every int32 requantizes to 0 either way
		}
		// 31 significant bits: relative error at most 2^−31.
		if rel := math.Abs(q.Real()-m) / m; rel > math.Exp2(-31) {
			t.Fatalf("Encode(%g) = %+v = %g: relative error %g > 2^-31", m, q, q.Real(), rel)
		}
	}
	// The carry case: f·2^31 rounds to 2^31.
	m := math.Nextafter(1, 0) // f = 1 − 2^−53
	q := MustEncode(m)
	if q.M0 != 1<<30 || q.S != -1 {
		t.Errorf("Encode(1−ε) = %+v, want M0 = 2^30, S = −1 (the carry case)", q)
	}
	if q := MustEncode(0.5); q.M0 != 1<<30 || q.S != 0 {
		t.Errorf("Encode(0.5) = %+v, want {2^30, 0}", q)
	}
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN(), 1 << 30} {
		if _, err := Encode(bad); err == nil {
			t.Errorf("Encode(%g): no error", bad)
		}
	}
}

func TestRequantTies(t *testing.T) {
	half := MustEncode(0.5)
	for _, c := range []struct {
		acc  int64
		m    Multiplier
		want int64
	}{
		{5, half, 3},   // 2.5 rounds up
		{-5, half, -2}, // −2.5 rounds up too (half up, not away from zero)
		{3, half, 2},   // 1.5
		{-3, half, -1}, // −1.5
		{-1, half, 0},  // −0.5
		{1, half, 1},   // 0.5
		{4, half, 2},
		{7, MustEncode(0.25), 2},   // 1.75
		{-6, MustEncode(0.25), -1}, // −1.5
		{math.MaxInt32, MustEncode(1), math.MaxInt32},
		{math.MinInt32, MustEncode(1), math.MinInt32},
		{100, MustEncode(3), 300},
		{1 << 40, half, 1 << 39}, // the 128-bit path
		{-(1 << 40) - 1, half, -(1 << 39)},
	} {
		if got := Requant(c.acc, c.m); got != c.want {
			t.Errorf("Requant(%d, %g) = %d, want %d", c.acc, c.m.Real(), got, c.want)
		}
	}
}

func TestRequantMatchesBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		m := MustEncode(math.Exp2(-36 + 38*rng.Float64()))
		var acc int64
		switch i % 4 {
		case 0:
			acc = int64(int32(rng.Uint32()))
		case 1:
			acc = rng.Int64N(1<<20) - 1<<19
		case 2:
			acc = int64(rng.Uint64()) >> rng.IntN(40) // int64 accumulators
		default:
			acc = []int64{0, 1, -1, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 1 << 62, -(1 << 62)}[rng.IntN(9)]
		}
		want := bigRequant(acc, m)
		got := Requant(acc, m)
		switch {
		case want.IsInt64() && got != want.Int64():
			t.Fatalf("Requant(%d, {%d, %d}) = %d, want %s", acc, m.M0, m.S, got, want)
		case !want.IsInt64() && want.Sign() > 0 && got != math.MaxInt64,
			!want.IsInt64() && want.Sign() < 0 && got != math.MinInt64:
			t.Fatalf("Requant(%d, {%d, %d}) = %d, want saturation of %s", acc, m.M0, m.S, got, want)
		}
		if acc == int64(int32(acc)) && Requant32(int32(acc), m) != got {
			t.Fatalf("Requant32(%d) = %d, Requant %d", acc, Requant32(int32(acc), m), got)
		}
	}
}

func TestOutputSaturates(t *testing.T) {
	m := MustEncode(1)
	for _, c := range []struct{ acc, zp, lo, hi, want int64 }{
		{200, 0, -128, 127, 127},
		{-200, 0, -128, 127, -128},
		{-200, 0, 0, 127, 0}, // a fused ReLU clamps at the zero point
		{5, 128, 0, 255, 133},
		{200, 128, 0, 255, 255},
		{math.MaxInt64, 10, 0, 255, 255},
		{math.MinInt64, 10, 0, 255, 0},
	} {
		if got := Output(c.acc, m, c.zp, c.lo, c.hi); got != c.want {
			t.Errorf("Output(%d, zp %d, [%d, %d]) = %d, want %d", c.acc, c.zp, c.lo, c.hi, got, c.want)
		}
	}
}

func TestRequantFloat(t *testing.T) {
	for _, c := range []struct {
		acc           int32
		scale         float32
		zp, lo, hi, w int32
	}{
		{5, 0.5, 0, -128, 127, 2},    // 2.5 → 2 (half to even)
		{7, 0.5, 0, -128, 127, 4},    // 3.5 → 4
		{-5, 0.5, 0, -128, 127, -2},  // −2.5 → −2
		{1000, 1, 0, -128, 127, 127}, // saturates
		{-1000, 1, 10, 0, 255, 0},
		{3, 1, 128, 0, 255, 131},
	} {
		if got := RequantFloat(c.acc, c.scale, c.zp, c.lo, c.hi); got != c.w {
			t.Errorf("RequantFloat(%d, %g, %d) = %d, want %d", c.acc, c.scale, c.zp, got, c.w)
		}
	}
}

func TestQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		s := float32(math.Exp2(-10 + 12*rng.Float64()))
		zp := int32(rng.IntN(256))
		x := float32(rng.NormFloat64() * 100 * float64(s))
		q := Quantize(x, s, zp, 0, 255)
		back := float64(Dequantize(q, zp, s))
		lo, hi := float64(Dequantize(0, zp, s)), float64(Dequantize(255, zp, s))
		switch {
		case float64(x) < lo:
			if q != 0 {
				t.Fatalf("Quantize(%g) below the range = %d, want 0", x, q)
			}
		case float64(x) > hi:
			if q != 255 {
				t.Fatalf("Quantize(%g) above the range = %d, want 255", x, q)
			}
		case math.Abs(back-float64(x)) > float64(s)/2*(1+1e-6):
			// In range: |S·(q − Z) − x| ≤ S/2.
			t.Fatalf("Quantize(%g, %g, %d) = %d → %g: error above S/2", x, s, zp, q, back)
		}
	}
	for _, c := range []struct {
		x, s   float32
		zp, lo int32
		hi, w  int32
	}{
		{2.5, 1, 0, -128, 127, 2}, // ties to even
		{3.5, 1, 0, -128, 127, 4},
		{-2.5, 1, 0, -128, 127, -2},
		{float32(math.NaN()), 1, 7, -128, 127, 7},
		{float32(math.Inf(1)), 1, 0, -128, 127, 127},
		{float32(math.Inf(-1)), 1, 0, -128, 127, -128},
		{1e30, 1e-30, 0, -32768, 32767, 32767},
	} {
		if got := Quantize(c.x, c.s, c.zp, c.lo, c.hi); got != c.w {
			t.Errorf("Quantize(%g, %g, %d) = %d, want %d", c.x, c.s, c.zp, got, c.w)
		}
	}
}

// The pure fixed-point path is the canonical requantization with a
// power-of-two multiplier: (acc + 2^(sh−1)) >> sh.
func TestFixedPointIsCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for sh := 1; sh <= 30; sh++ {
		m := MustEncode(math.Exp2(float64(-sh)))
		for i := 0; i < 1000; i++ {
			acc := int32(rng.Uint32())
			want := (int64(acc) + 1<<(sh-1)) >> sh
			if got := Requant32(acc, m); got != want {
				t.Fatalf("shift %d: Requant32(%d) = %d, want %d", sh, acc, got, want)
			}
		}
	}
}

// The integer GEMM's twin on packed weights equals the plain sum over
// every shape's tails (k and n not multiples of 4 or the panel width),
// the extremes included; the +128 shift and ColumnSums give back the
// signed product.
func TestGemmU8S8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, sh := range [][3]int{{1, 1, 1}, {3, 5, 7}, {7, 33, 64}, {4, 16, 4}, {9, 40, 130}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, width := range []int{8, 32} {
			w := make([]int8, n*k)
			x := make([]int8, m*k)
			for i := range w {
				w[i] = int8(rng.IntN(255) - 127)
			}
			for i := range x {
				x[i] = int8(rng.IntN(256) - 128)
			}
			if k > 2 {
				w[0], w[1], x[0], x[1] = 127, -127, -128, 127
			}
			lda := 4 * Groups(k)
			a := make([]uint8, m*lda)
			for i := range m {
				for kk := range k {
					a[i*lda+kk] = ShiftU8(x[i*k+kk])
				}
				for kk := k; kk < lda; kk++ {
					a[i*lda+kk] = 0xAB // padding: multiplied by zero weights
				}
			}
			c := make([]int32, m*n)
			GemmU8S8(m, n, k, a, lda, PackS8(w, n, k, width), width, c, n)
			cs := ColumnSums(w, n, k)
			for i := range m {
				for j := range n {
					want, u := int32(0), int32(0)
					for kk := range k {
						want += int32(x[i*k+kk]) * int32(w[j*k+kk])
						u += int32(ShiftU8(x[i*k+kk])) * int32(w[j*k+kk])
					}
					if c[i*n+j] != u || c[i*n+j]-cs[j] != want {
						t.Fatalf("m%d n%d k%d width %d: c[%d,%d] = %d (−colsum %d), want %d (signed %d)", m, n, k, width, i, j, c[i*n+j], c[i*n+j]-cs[j], u, want)
					}
				}
			}
		}
	}
}
