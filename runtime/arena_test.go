package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// checkPlan asserts Plan's contract for bufs at every batch 1..maxBatch and
// returns total.
func checkPlan(t *testing.T, bufs []Buffer, maxBatch int) int {
	t.Helper()
	off, total := Plan(bufs, maxBatch)
	equal(t, len(bufs), len(off))
	end, sumAligned := 0, 0
	for i, b := range bufs {
		isTrue(t, off[i] >= 0, "buffer %d at negative offset %d", i, off[i])
		isTrue(t, off[i]%Align == 0, "buffer %d at unaligned offset %d", i, off[i])
		end = max(end, off[i]+b.Bytes(maxBatch))
		sumAligned += alignUp(b.Bytes(maxBatch))
	}
	equal(t, end, total, "total is not the end of the highest buffer")
	isTrue(t, total >= LowerBound(bufs, maxBatch), "total %d below the lower bound %d", total, LowerBound(bufs, maxBatch))
	isTrue(t, total <= sumAligned, "total %d above the sum of the buffers %d", total, sumAligned)

	// Sizes shrink with the batch, so a plan made at maxBatch holds at
	// every smaller batch: check them all.
	for n := 1; n <= maxBatch; n++ {
		for i, x := range bufs {
			for j, y := range bufs[:i] {
				if x.First > y.Last || y.First > x.Last {
					continue // never live together
				}
				xs, ys := x.Bytes(n), y.Bytes(n)
				if xs == 0 || ys == 0 {
					continue
				}
				isTrue(t, off[i]+xs <= off[j] || off[j]+ys <= off[i], "batch %d: buffers %d %+v at [%d,%d) and %d %+v at [%d,%d) conflict and overlap", n, i, x, off[i], off[i]+xs, j, y, off[j], off[j]+ys)
			}
		}
	}
	return total
}

func TestPlanRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := 1.0
	for it := range 300 {
		k, steps, maxBatch := r.IntN(40), 1+r.IntN(30), 1+r.IntN(8)
		bufs := make([]Buffer, k)
		for i := range bufs {
			first := r.IntN(steps)
			b := Buffer{A: r.IntN(5) * 256, B: r.IntN(3000), First: first, Last: first + r.IntN(steps-first)}
			switch r.IntN(4) {
			case 0:
				b.A = 0 // batch-independent
			case 1:
				b.B = -r.IntN(b.A + 1) // negative B, still ≥ 0 at batch 1
			}
			bufs[i] = b
		}
		t.Run(fmt.Sprint(it), func(t *testing.T) {
			total := checkPlan(t, bufs, maxBatch)
			if lb := LowerBound(bufs, maxBatch); lb > 0 {
				worst = max(worst, float64(total)/float64(lb))
			}
		})
	}
	t.Logf("worst total / lower bound over random plans: %.3f", worst)
}

func TestPlanKnown(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		off, total := Plan(nil, 4)
		equal(t, 0, len(off))
		equal(t, 0, total)
	})

	// A chain: each buffer is live while it is produced and consumed. The
	// peak is steps 1 and 2 (1024+2048); the planner reuses b0's space for
	// b2 above b1 and puts b3 in b1's freed space below.
	t.Run("chain", func(t *testing.T) {
		bufs := []Buffer{
			{A: 256, First: 0, Last: 1},     // 1024 at N=4
			{A: 512, First: 1, Last: 2},     // 2048
			{A: 256, First: 2, Last: 3},     // 1024
			{B: 512, First: 3, Last: 4},     // 512, independent of N
			{A: 0, B: 0, First: 0, Last: 4}, // empty
		}
		off, total := Plan(bufs, 4)
		equal(t, []int{2048, 0, 2048, 0, 0}, off)
		equal(t, 3072, total)
		equal(t, 3072, LowerBound(bufs, 4))
		checkPlan(t, bufs, 4)
	})

	// Best fit with alignment, worked by hand. Placed by size:
	//   v1 4000 [0,1] → 0      (ends 4000)
	//   u1 3000 [0,0] → 4032   (4000 rounded up to 64; ends 7032)
	//   v2 2900 [0,1] → 7040   (ends 9940)
	//   u2 1000 [0,0] → 9984   (ends 10984)
	//   v3  900 [0,1] → 11008  (ends 11908 = total)
	//   c   800 [1,1] conflicts with v1, v2, v3 only; the gaps u1 and u2
	//       left are [4032,7040) of 3008 bytes and [9984,11008) of 1024:
	//       best fit takes the smaller, 9984 (first fit would take 4032).
	// Lower bound: step 0 holds 4000+3000+2900+1000+900 = 11800.
	t.Run("best-fit", func(t *testing.T) {
		bufs := []Buffer{
			{B: 800, First: 1, Last: 1},  // c
			{B: 4000, First: 0, Last: 1}, // v1
			{B: 3000, First: 0, Last: 0}, // u1
			{B: 2900, First: 0, Last: 1}, // v2
			{B: 1000, First: 0, Last: 0}, // u2
			{B: 900, First: 0, Last: 1},  // v3
		}
		off, total := Plan(bufs, 1)
		equal(t, []int{9984, 0, 4032, 7040, 9984, 11008}, off)
		equal(t, 11908, total)
		equal(t, 11800, LowerBound(bufs, 1))
		checkPlan(t, bufs, 1)
	})
}

func TestPlanRejectsMalformed(t *testing.T) {
	for _, tc := range []struct {
		bufs     []Buffer
		maxBatch int
	}{
		{[]Buffer{{A: 1}}, 0},
		{[]Buffer{{A: -1, B: 100}}, 2},
		{[]Buffer{{A: 4, B: -5}}, 2},
		{[]Buffer{{A: 4, First: 3, Last: 2}}, 2},
	} {
		panics(t, func() { Plan(tc.bufs, tc.maxBatch) }, "%+v", tc)
	}
}

func TestArenaAligned(t *testing.T) {
	for _, size := range []int{0, 1, 7, 63, 64, 65, 1000, 1 << 20} {
		a := NewArena(size)
		equal(t, size, a.Len())
		equal(t, size, len(a.Bytes()))
		equal(t, size, cap(a.Bytes()))
		if size > 0 {
			isTrue(t, uintptr(unsafe.Pointer(&a.Bytes()[0]))%Align == 0, "size %d: arena not aligned", size)
		}
		for _, b := range a.Bytes() {
			isTrue(t, b == 0, "size %d: the arena is not zeroed", size)
		}
	}
}

func TestArenaViewsAlias(t *testing.T) {
	a := NewArena(256)
	f := a.F32(64, 4)
	equal(t, 4, len(f))
	equal(t, 4, cap(f), "a view's capacity must stop at its end")
	f[1] = math.Float32frombits(0x04030201)
	equal(t, uint32(0x04030201), binary.NativeEndian.Uint32(a.Bytes()[68:72]))

	g := a.I64(128, 2)
	binary.NativeEndian.PutUint64(a.Bytes()[136:144], 0x1122334455667788)
	equal(t, int64(0x1122334455667788), g[1])

	// Views of overlapping ranges see each other's writes.
	h := View[uint16](a, 64, 8) // the same bytes as f
	equal(t, uint16(0x0201), h[2])
	h[0] = 0xffff
	equal(t, uint32(0xffff), math.Float32bits(f[0]))

	isTrue(t, a.F32(256, 0) == nil, "empty view at the end")
	equal(t, 64, len(a.F32(0, 64)), "a view may fill the arena")
}

func TestArenaViewsCheck(t *testing.T) {
	a := NewArena(256)
	for _, tc := range []struct{ off, n int }{
		{-4, 1}, {0, -1}, {0, 65}, {252, 2}, {256, 1}, {260, 0}, {2, 1}, {math.MaxInt - 3, 1}, {0, math.MaxInt / 2},
	} {
		panics(t, func() { a.F32(tc.off, tc.n) }, "F32(%d, %d)", tc.off, tc.n)
	}
	panics(t, func() { a.I64(4, 1) }, "I64 at a 4-byte offset")
	panics(t, func() { NewArena(-1) })
}

func TestArenaPlanTogether(t *testing.T) {
	// How generated New uses the two: plan at max batch, allocate once,
	// make views at the current batch.
	bufs := []Buffer{{A: 40, First: 0, Last: 1}, {A: 12, B: 4, First: 1, Last: 2}, {A: 40, First: 2, Last: 3}}
	off, total := Plan(bufs, 8)
	a := NewArena(total)
	for n := 1; n <= 8; n++ {
		x, y := a.F32(off[0], bufs[0].Bytes(n)/4), a.F32(off[1], bufs[1].Bytes(n)/4)
		for i := range x {
			x[i] = 1
		}
		for i := range y {
			y[i] = 2
		}
		for i := range x {
			equal(t, float32(1), x[i], "batch %d: live buffers overlap", n)
		}
	}
}

// TestNewPlannedArena: every max batch a caller can pass gives an arena or
// an error of the runtime's kinds, never a panic, a wrapped size or an
// allocation that kills the process.
func TestNewPlannedArena(t *testing.T) {
	bufs := []Buffer{{A: 4096, B: 64, First: 0, Last: 1}, {A: 1024, First: 1, Last: 2}}
	offs, a, err := NewPlannedArena(bufs, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	wantOffs, total := Plan(bufs, 4)
	if a.Len() != total || len(offs) != 2 || offs[0] != wantOffs[0] || offs[1] != wantOffs[1] {
		t.Fatalf("arena %d bytes, offsets %v; Plan gives %d, %v", a.Len(), offs, total, wantOffs)
	}
	for _, tc := range []struct {
		max, sample int
		want        error
	}{
		{0, 16, ErrMaxBatch},
		{-1, 16, ErrMaxBatch},
		{math.MinInt, 16, ErrMaxBatch},
		{math.MaxInt, 16, ErrMaxBatch},      // samples overflow
		{math.MaxInt / 16, 16, ErrMaxBatch}, // a buffer overflows
		{1 << 52, 0, ErrMaxBatch},           // 4096·2⁵² overflows
		{1 << 40, 0, ErrArena},              // 4 PiB: more than any machine
		{1 << 36, 8, ErrArena},              // 256 TiB
	} {
		_, a, err := NewPlannedArena(bufs, tc.max, tc.sample)
		if !errors.Is(err, tc.want) || a != nil {
			t.Errorf("max batch %d: got %v, want %v", tc.max, err, tc.want)
		}
	}
	// Nothing grows with the batch: any max batch is fine.
	if _, a, err := NewPlannedArena([]Buffer{{B: 128, First: 0, Last: 0}}, math.MaxInt, 0); err != nil || a.Len() != 128 {
		t.Fatalf("static arena at max batch MaxInt: %v", err)
	}
}
