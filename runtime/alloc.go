package runtime

import (
	"fmt"
	"math"
)

// NewPlannedArena is how a generated New gets its arena: it checks the max
// batch, plans bufs for it (Plan) and allocates the arena, returning an
// error instead of panicking or dying for any max batch a caller can pass
// to WithMaxBatch:
//
//   - maxBatch < 1, or a size at maxBatch that overflows an int (a
//     buffer's A·maxBatch+B, their sum, or maxBatch·sampleBytes, where
//     sampleBytes is the largest input or output per sample, in bytes):
//     ErrMaxBatch;
//   - an arena larger than the machine's physical memory (where the
//     operating system says, see physicalMemory), or one the allocator
//     refuses: ErrArena.
//
// A Go program cannot recover from running out of memory, so the check
// against physical memory is what keeps a huge max batch an error rather
// than a crash; memory the machine has but other processes use can still
// run out, as with any allocation.
func NewPlannedArena(bufs []Buffer, maxBatch, sampleBytes int) (offsets []int, a *Arena, err error) {
	if maxBatch < 1 {
		return nil, nil, fmt.Errorf("WithMaxBatch(%d): %w: it must be at least 1", maxBatch, ErrMaxBatch)
	}
	if sampleBytes > 0 && maxBatch > math.MaxInt/sampleBytes {
		return nil, nil, fmt.Errorf("WithMaxBatch(%d): %w: %d-byte samples overflow an int", maxBatch, ErrMaxBatch, sampleBytes)
	}
	sum := 0
	for i, b := range bufs {
		if b.A < 0 || b.A+b.B < 0 || b.First > b.Last {
			return nil, nil, fmt.Errorf("runtime: buffer %d is malformed (%d·N%+d bytes, steps %d–%d): regenerate the package", i, b.A, b.B, b.First, b.Last)
		}
		if b.A > 0 && maxBatch > (math.MaxInt-Align-max(b.B, 0))/b.A {
			return nil, nil, fmt.Errorf("WithMaxBatch(%d): %w: buffer %d (%d bytes per sample) overflows an int", maxBatch, ErrMaxBatch, i, b.A)
		}
		size := alignUp(b.Bytes(maxBatch))
		if sum > math.MaxInt-size {
			return nil, nil, fmt.Errorf("WithMaxBatch(%d): %w: the buffers' sizes overflow an int", maxBatch, ErrMaxBatch)
		}
		sum += size
	}
	// Every offset Plan returns is below the sum of the aligned sizes, so
	// nothing inside it overflows now.
	offsets, total := Plan(bufs, maxBatch)
	if mem := physicalMemory(); mem > 0 && uint64(total) > mem {
		return nil, nil, fmt.Errorf("WithMaxBatch(%d): %w: the arena needs %s, the machine has %s", maxBatch, ErrArena, bytesString(uint64(total)), bytesString(mem))
	}
	a, err = tryNewArena(total)
	if err != nil {
		return nil, nil, fmt.Errorf("WithMaxBatch(%d): %w: %s: %v", maxBatch, ErrArena, bytesString(uint64(total)), err)
	}
	return offsets, a, nil
}

// tryNewArena is NewArena with the allocator's recoverable refusals (a
// length out of range) turned into an error.
func tryNewArena(size int) (a *Arena, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return NewArena(size), nil
}

func bytesString(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
