package runtime

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// withThreads sets the pool's limit for one test and restores the default.
func withThreads(t testing.TB, n int) {
	t.Helper()
	SetThreads(n)
	t.Cleanup(func() { SetThreads(0) })
}

// within fails the test if f does not return in time: a deadlock shows as a
// failure naming the test rather than as the whole binary timing out.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not finish within %v (deadlock?)", d)
	}
}

// span is one fn(lo, hi) call.
type span struct{ lo, hi int }

func TestParallelCoversEachIndexOnce(t *testing.T) {
	for threads := 1; threads <= 4; threads++ {
		for _, n := range []int{0, 1, 7, 1000} {
			for _, grain := range []int{0, 1, 3, 100} {
				t.Run(fmt.Sprintf("threads=%d/n=%d/grain=%d", threads, n, grain), func(t *testing.T) {
					withThreads(t, threads)
					seen := make([]int32, n)
					var mu sync.Mutex
					var spans []span
					ParallelMin(n, grain, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							atomic.AddInt32(&seen[i], 1)
						}
						mu.Lock()
						spans = append(spans, span{lo, hi})
						mu.Unlock()
					})
					for i, c := range seen {
						equal(t, int32(1), c, "index %d visited %d times", i, c)
					}
					if n == 0 {
						equal(t, 0, len(spans), "fn called for n = 0")
						return
					}
					// At most Threads() chunks, at most n/grain, contiguous,
					// non-empty, and balanced to within one element.
					want := min(threads, n)
					if grain > 1 {
						want = max(1, min(want, n/grain))
					}
					equal(t, want, len(spans))
					slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
					lo := 0
					for _, s := range spans {
						equal(t, lo, s.lo, "chunks not contiguous: %v", spans)
						isTrue(t, s.hi > s.lo, "empty chunk: %v", spans)
						lo = s.hi
					}
					equal(t, n, lo)
					short, long := n/want, (n+want-1)/want
					for _, s := range spans {
						isTrue(t, s.hi-s.lo == short || s.hi-s.lo == long, "unbalanced chunks: %v", spans)
					}
				})
			}
		}
	}
}

func TestParallelConcurrentCallers(t *testing.T) {
	withThreads(t, 4)
	within(t, 30*time.Second, func() {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for it := range 100 {
					n := 1 + (g*131+it*17)%500
					seen := make([]int32, n)
					Parallel(n, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							atomic.AddInt32(&seen[i], 1)
						}
					})
					for i, c := range seen {
						if c != 1 {
							errs <- fmt.Errorf("goroutine %d, call %d: index %d of %d visited %d times", g, it, i, n, c)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestParallelNested(t *testing.T) {
	withThreads(t, 4)
	const outer, mid, inner = 8, 5, 100
	var total atomic.Int64
	within(t, 30*time.Second, func() {
		Parallel(outer, func(lo, hi int) {
			for range hi - lo {
				Parallel(mid, func(lo, hi int) {
					for range hi - lo {
						ParallelMin(inner, 10, func(lo, hi int) { total.Add(int64(hi - lo)) })
					}
				})
			}
		})
	})
	equal(t, int64(outer*mid*inner), total.Load())
}

func TestSetThreadsMidFlight(t *testing.T) {
	withThreads(t, 2)
	stop := make(chan struct{})
	var changer sync.WaitGroup
	changer.Go(func() {
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			SetThreads(1 + k%5)
			goruntime.Gosched()
		}
	})
	within(t, 30*time.Second, func() {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for it := range 200 {
					n := 1 + (g*37+it*11)%300
					var sum atomic.Int64
					Parallel(n, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							sum.Add(int64(i))
						}
					})
					if got, want := sum.Load(), int64(n*(n-1)/2); got != want {
						t.Errorf("n=%d: sum %d, want %d", n, got, want)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	close(stop)
	changer.Wait()

	// After the dust settles the pool converges to threads-1 workers.
	SetThreads(3)
	equal(t, 3, Threads())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		Parallel(100, func(lo, hi int) {}) // lets busy surplus workers retire
		if pool.live.Load() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live workers %d, want 2", pool.live.Load())
		}
	}

	SetThreads(0)
	equal(t, goruntime.GOMAXPROCS(0), Threads())
}

func TestParallelPanicReachesCaller(t *testing.T) {
	withThreads(t, 4)
	for _, bad := range []int{0, 3} { // the caller's chunk, and (likely) a worker's
		panicsWith(t, "boom", func() {
			Parallel(4, func(lo, hi int) {
				if lo == bad {
					panic("boom")
				}
			})
		})
	}
	// The pool still works afterwards.
	var n atomic.Int64
	Parallel(1000, func(lo, hi int) { n.Add(int64(hi - lo)) })
	equal(t, int64(1000), n.Load())
}

var sink atomic.Int64

// touch is a package-level func value: passing it allocates nothing, which
// is how generated code passes its prebuilt closures.
var touch = func(lo, hi int) { sink.Add(int64(hi - lo)) }

func TestParallelAllocs(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(2))
	for _, threads := range []int{1, 2, 4} {
		withThreads(t, threads)
		for range 100 { // warm-up: fill the job free list, start the workers
			Parallel(64, touch)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			Parallel(64, touch)
			ParallelMin(64, 8, touch)
		})
		isTrue(t, allocs == 0, "threads=%d: %v allocations per call", threads, allocs)
	}
}

func BenchmarkParallelEmpty(b *testing.B) {
	empty := func(lo, hi int) {}
	for _, threads := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			withThreads(b, threads)
			Parallel(threads, empty)
			b.ReportAllocs()
			for b.Loop() {
				Parallel(threads, empty)
			}
		})
	}
}

// BenchmarkParallelEmptyConcurrent measures the same with every P calling
// Parallel at once, as several models sharing the pool do.
func BenchmarkParallelEmptyConcurrent(b *testing.B) {
	withThreads(b, 0)
	empty := func(lo, hi int) {}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			Parallel(Threads(), empty)
		}
	})
}

// spin burns about the same CPU time per call without touching memory.
func spin(iters int) {
	x := uint64(1)
	for range iters {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink.Add(int64(x & 1))
}

// BenchmarkParallelWork splits a fixed amount of work (in spin iterations,
// about 1 ns each) over Threads() chunks. Compare threads=1 with threads=2:
// the gap from a 2× speed-up is the pool's fork-join cost at that grain.
func BenchmarkParallelWork(b *testing.B) {
	for _, work := range []int{2_000, 20_000, 200_000} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("work=%d/threads=%d", work, threads), func(b *testing.B) {
				withThreads(b, threads)
				fn := func(lo, hi int) { spin((hi - lo) * work / 1024) }
				Parallel(1024, fn)
				b.ReportAllocs()
				for b.Loop() {
					Parallel(1024, fn)
				}
			})
		}
	}
}

// BenchmarkParallelSteps times what a generated forward pass does: many
// short parallel steps in a row (each chunk ~10 µs of work, as a batch-1
// layer split over the cores), separated by a little serial work. With
// workers that must be woken from sleep for every step the second core
// arrives too late to help; ns/step shows it against the serial time.
func BenchmarkParallelSteps(b *testing.B) {
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			spinFor(10 * time.Microsecond)
		}
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			SetThreads(threads)
			defer SetThreads(0)
			for i := 0; i < b.N; i++ {
				Parallel(2, work)
				spinFor(2 * time.Microsecond)
			}
		})
	}
}

func spinFor(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}
