package peak

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Result is one measurement of the machine's limits at a thread count.
type Result struct {
	Threads int
	// ClockGHz is the effective clock of one busy core (best of the
	// repetitions).
	ClockGHz float64
	// ISA names the FMA kernel that gave the peak ("avx512" or "avx2").
	ISA string
	// FlopPerCycle is fp32 FLOP per cycle per core of that kernel.
	FlopPerCycle float64
	// GFLOPS is the aggregate fp32 FMA throughput of Threads cores.
	GFLOPS float64
	// ReadGBs is the aggregate read bandwidth from memory of Threads
	// cores, in GB/s (10⁹ bytes).
	ReadGBs float64
}

// Known reports whether the machine's peak could be measured.
func (r Result) Known() bool { return r.GFLOPS > 0 }

func (r Result) String() string {
	if !r.Known() {
		return "peak: not measured on this architecture"
	}
	return fmt.Sprintf("%d thread(s): clock %.2f GHz (dependent add chain); fp32 FMA %s %.1f FLOP/cycle/core = %.1f GFLOP/s; read bandwidth %.1f GB/s",
		r.Threads, r.ClockGHz, r.ISA, r.FlopPerCycle, r.GFLOPS, r.ReadGBs)
}

const (
	reps       = 5
	clockReps  = 15        // short and many: one of them escapes preemption on a loaded machine
	pairRuns   = 9         // clock/FMA pairs whose median ratio is FLOP per cycle
	addIters   = 1_000_000 // 32 adds each: ~9 ms at 3.6 GHz
	fmaIters   = 4_000_000 // 12 FMAs each: ~7 ms at two FMAs per cycle
	streamSize = 256 << 20 // bytes read per bandwidth repetition
)

// Measure runs the kernels on threads goroutines locked to OS threads at
// once and returns the best of a few repetitions. It takes about half a
// second.
func Measure(threads int) Result {
	if !available() || threads < 1 {
		return Result{Threads: threads}
	}
	r := Result{Threads: threads}
	clock := func() float64 { return 32 * addIters / timeIt(func() { addChain(addIters) }) / 1e9 }
	r.ClockGHz = bestRate(clockReps, clock)
	for _, k := range fmaKernels() {
		fma := func() float64 {
			s := onThreads(threads, func(int) { k.fn(fmaIters) })
			return float64(threads) * 12 * float64(k.lanes) * 2 * fmaIters / s / 1e9
		}
		rate := bestRate(reps, fma)
		if rate > r.GFLOPS {
			r.GFLOPS, r.ISA = rate, k.name
			r.FlopPerCycle = pairedPerCycle(clock, fma) / float64(threads)
		}
	}
	buf := make([]byte, streamSize*threads+64)
	off := 0
	for uintptr(unsafeAddr(buf[off:])%64) != 0 {
		off++
	}
	buf = buf[off : off+streamSize*threads]
	// Write every page: untouched pages all map the kernel's one zero page,
	// which reads from cache.
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	r.ReadGBs = bestRate(3, func() float64 {
		s := onThreads(threads, func(t int) { readStream(buf[t*streamSize : (t+1)*streamSize]) })
		return float64(len(buf)) / s / 1e9
	})
	return r
}

type fmaKernel struct {
	name  string
	lanes int
	fn    func(n int64)
}

func timeIt(f func()) float64 {
	t0 := time.Now()
	f()
	return time.Since(t0).Seconds()
}

// bestRate warms f up once and returns the highest of n calls: other
// processes and interrupts only ever slow a limit down, so the best
// repetition is the one closest to it (a median would let a preempted
// clock measurement inflate FLOP/cycle).
func bestRate(n int, f func() float64) float64 {
	f()
	best := 0.0
	for range n {
		best = max(best, f())
	}
	return best
}

// pairedPerCycle returns the median, over pairRuns back-to-back pairs,
// of fma's rate divided by clock's. FLOP per cycle must not divide the best
// rate by the best clock: on a virtual machine the clock wanders between
// measurements (a CI run read 2.4 and 3.3 GHz a second apart), and a clock
// sampled a moment after the FMA kernel ran faster than it gave 87 FLOP per
// cycle on a core whose limit is 64. A pair shares one moment's clock, and
// the median drops the pairs a preemption disturbed on either side.
func pairedPerCycle(clock, fma func() float64) float64 {
	clock()
	fma()
	ratios := make([]float64, pairRuns)
	for i := range ratios {
		c := clock()
		ratios[i] = fma() / c
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2]
}

// onThreads runs f(t) for t < threads, each on its own locked OS thread,
// started together, and returns the wall time in seconds.
func onThreads(threads int, f func(t int)) float64 {
	if prev := runtime.GOMAXPROCS(0); prev < threads {
		runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(prev)
	}
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(threads)
	done.Add(threads)
	for t := 0; t < threads; t++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer done.Done()
			ready.Done()
			<-start
			f(t)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0).Seconds()
}
