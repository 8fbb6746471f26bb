package runtime

import (
	"fmt"
	"slices"
	"unsafe"
)

// Align is the alignment, in bytes, of every buffer offset Plan returns and
// of an Arena's first byte: one cache line, and the widest vector load the
// kernels issue (AVX-512), so no buffer shares a line with its neighbour
// and aligned loads are legal at every buffer start.
const Align = 64

// Buffer describes one intermediate tensor for Plan.
//
// Its size in bytes is affine in the batch N, Bytes(N) = A·N + B, as every
// IR dimension is affine in N. It is live from step First to step Last
// inclusive (steps are the model's nodes in execution order), and two
// buffers conflict, i.e. must not share bytes, iff their [First, Last]
// intervals intersect.
type Buffer struct {
	A, B        int
	First, Last int
}

// Bytes returns the buffer's size at batch n.
func (b Buffer) Bytes(n int) int { return b.A*n + b.B }

// Plan lays out bufs in one arena for batches up to maxBatch: offsets[i] is
// the byte offset of bufs[i], a multiple of Align, and total is the arena
// size in bytes. Conflicting buffers never overlap at maxBatch. Because A ≥ 0
// (checked), every buffer only shrinks as the batch does, staying inside the
// range it was given at maxBatch, so the same offsets are valid for every
// batch from 1 to maxBatch and a Model plans once, in New.
//
// The heuristic is the one TFLite's arena planner uses: place buffers in
// order of decreasing size, each at the smallest gap, among the buffers
// already placed that conflict with it, that holds it (best fit), or above
// them all if no gap does. total is at least LowerBound(bufs, maxBatch) and
// at most the sum of the sizes, each rounded up to Align; on chains and
// residual graphs it usually meets the lower bound. Generated REPORT.md
// files show total against LowerBound.
//
// Plan panics on malformed input (maxBatch < 1, A < 0, a negative size at
// batch 1, First > Last): that is a bug in the generated code, not a user
// error. It runs in O(k² log k) for k buffers.
func Plan(bufs []Buffer, maxBatch int) (offsets []int, total int) {
	if maxBatch < 1 {
		panic(fmt.Sprintf("runtime: Plan: max batch %d < 1", maxBatch))
	}
	size := make([]int, len(bufs))
	for i, b := range bufs {
		switch {
		case b.A < 0:
			panic(fmt.Sprintf("runtime: Plan: buffer %d: size %d·N%+d decreases with the batch", i, b.A, b.B))
		case b.Bytes(1) < 0:
			panic(fmt.Sprintf("runtime: Plan: buffer %d: size %d·N%+d is negative at batch 1", i, b.A, b.B))
		case b.First > b.Last:
			panic(fmt.Sprintf("runtime: Plan: buffer %d: live range [%d, %d] is empty", i, b.First, b.Last))
		}
		size[i] = b.Bytes(maxBatch)
	}

	// Largest first: big buffers placed early leave gaps the small ones
	// fill; ties broken by first use and index so the plan is deterministic.
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		if size[x] != size[y] {
			return size[y] - size[x]
		}
		if bufs[x].First != bufs[y].First {
			return bufs[x].First - bufs[y].First
		}
		return x - y
	})

	offsets = make([]int, len(bufs))
	var placed, near []int // placed buffers; those conflicting with the current one
	for _, i := range order {
		if size[i] == 0 {
			continue // occupies no bytes; offset 0 is as good as any
		}
		near = near[:0]
		for _, p := range placed {
			if bufs[p].First <= bufs[i].Last && bufs[i].First <= bufs[p].Last {
				near = append(near, p)
			}
		}
		slices.SortFunc(near, func(x, y int) int { return offsets[x] - offsets[y] })

		// Walk the gaps between the conflicting buffers, lowest first. cand
		// is the lowest aligned offset above everything seen so far.
		cand, best, bestGap := 0, -1, 0
		for _, p := range near {
			if gap := offsets[p] - cand; gap >= size[i] && (best < 0 || gap < bestGap) {
				best, bestGap = cand, gap
			}
			cand = max(cand, alignUp(offsets[p]+size[p]))
		}
		if best < 0 {
			best = cand
		}
		offsets[i] = best
		total = max(total, best+size[i])
		placed = append(placed, i)
	}
	return offsets, total
}

// LowerBound returns the largest total size, at maxBatch, of the buffers
// live at any one step. No layout can use less memory, since buffers live at
// the same step all conflict; Plan's total divided by it measures the
// planner's waste.
func LowerBound(bufs []Buffer, maxBatch int) int {
	type event struct{ at, delta int }
	ev := make([]event, 0, 2*len(bufs))
	for _, b := range bufs {
		s := b.Bytes(maxBatch)
		ev = append(ev, event{b.First, s}, event{b.Last + 1, -s})
	}
	// At equal steps, releases come first: a buffer ending at step t-1 and
	// one starting at t are never live together.
	slices.SortFunc(ev, func(x, y event) int {
		if x.at != y.at {
			return x.at - y.at
		}
		return x.delta - y.delta
	})
	live, peak := 0, 0
	for _, e := range ev {
		live += e.delta
		peak = max(peak, live)
	}
	return peak
}

func alignUp(x int) int { return (x + Align - 1) &^ (Align - 1) }

// Arena is one block of memory that holds a Model's intermediate buffers at
// the offsets Plan chose, handed out as typed views. Its first byte is
// aligned to Align. An Arena is not safe for concurrent use: each Model
// (and each Clone) owns one, which is why a Model serialises its calls.
type Arena struct {
	// words is the allocation. Backing it with []uint64 rather than []byte
	// matters twice: the garbage collector keeps it alive as long as the
	// Arena is reachable, and it is pointer-free memory that the collector
	// never scans, so reinterpreting its bytes as numbers is sound. Views
	// made with unsafe.Slice point into it, which also keeps it alive for as
	// long as any view is.
	words []uint64
	// buf is the Align-aligned part of words, exactly as long as asked for.
	// Go's allocator guarantees only 8-byte alignment for a []uint64 (more,
	// in practice, for large ones, but not promised), so NewArena allocates
	// Align-8 bytes extra and starts buf at the first aligned address.
	// Go's heap does not move objects, so the alignment holds for good.
	buf []byte
}

// NewArena returns a zeroed arena of size bytes, size ≥ 0.
func NewArena(size int) *Arena {
	if size < 0 {
		panic(fmt.Sprintf("runtime: NewArena: negative size %d", size))
	}
	if size == 0 {
		return &Arena{}
	}
	words := make([]uint64, (size+7)/8+(Align-8)/8)
	base := unsafe.Pointer(unsafe.SliceData(words))
	skip := int(-uintptr(base) & (Align - 1)) // bytes to the next aligned address, a multiple of 8
	all := unsafe.Slice((*byte)(base), len(words)*8)
	return &Arena{words: words, buf: all[skip : skip+size : skip+size]}
}

// Len returns the arena's size in bytes.
func (a *Arena) Len() int { return len(a.buf) }

// Bytes returns the whole arena as bytes, starting at the aligned address.
func (a *Arena) Bytes() []byte { return a.buf }

// F32 returns the n float32s starting at byte offset off as a slice that
// aliases the arena (length and capacity n, so an append cannot spill into
// the next buffer). It panics if the range does not fit or off is not a
// multiple of 4.
func (a *Arena) F32(off, n int) []float32 { return View[float32](a, off, n) }

// I64 is F32 for int64 values; off must be a multiple of 8.
func (a *Arena) I64(off, n int) []int64 { return View[int64](a, off, n) }

// Elem is the set of element types an arena view may have: plain numbers,
// with no pointers, since the arena's memory is never scanned by the
// garbage collector. f16 and bf16 are stored as uint16.
type Elem interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 |
		~float32 | ~float64 | ~bool
}

// View returns the n values of type T starting at byte offset off of a, as
// a slice that aliases the arena, with length and capacity n. off must be a
// multiple of T's size (offsets from Plan are, as they are multiples of
// Align) and the range must lie inside the arena; otherwise View panics, as
// that is a bug in the generated code. n == 0 gives a nil slice.
func View[T Elem](a *Arena, off, n int) []T {
	var zero T
	sz := int(unsafe.Sizeof(zero))
	if off < 0 || n < 0 || off > len(a.buf) || n > (len(a.buf)-off)/sz || off%sz != 0 {
		panic(fmt.Sprintf("runtime: arena view [%d, +%d×%d bytes) outside the %d-byte arena or misaligned",
			off, n, sz, len(a.buf)))
	}
	if n == 0 {
		return nil // no pointer past the end of the allocation
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&a.buf[off])), n)
}
