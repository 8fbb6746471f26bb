package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// runPeer is the hidden command "modelc peer gonum-sgemm M N K NN|NT
// SECONDS": gonum's pure-Go Sgemm, timed the way every engine of modelc
// bench is (warm-up ≥ 5 calls and 0.5 s, then ≥ 10 timed calls adding up
// to SECONDS, at most 5000), printed as one JSON Sample. modelc bench
// runs it as a child process with GOMAXPROCS set to the thread count.
func runPeer(args []string, stdout io.Writer) error {
	const u = "modelc peer gonum-sgemm M N K NN|NT SECONDS"
	if len(args) != 6 || args[0] != "gonum-sgemm" || (args[4] != "NN" && args[4] != "NT") {
		return usageError{"usage: " + u}
	}
	var dims [3]int
	for i := range dims {
		v, err := strconv.Atoi(args[1+i])
		if err != nil || v < 1 {
			return usageError{fmt.Sprintf("%s: %q is not a positive integer", u, args[1+i])}
		}
		dims[i] = v
	}
	seconds, err := strconv.ParseFloat(args[5], 64)
	if err != nil || seconds < 0 {
		return usageError{fmt.Sprintf("%s: %q is not a number of seconds", u, args[5])}
	}
	m, n, k := dims[0], dims[1], dims[2]
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for _, s := range [][]float32{a, b} {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
	}
	tB, ldb := blas.NoTrans, n
	if args[4] == "NT" {
		tB, ldb = blas.Trans, k
	}
	var impl gonum.Implementation
	call := func() { impl.Sgemm(blas.NoTrans, tB, m, n, k, 1, a, k, b, ldb, 0, c, n) }
	for start, i := time.Now(), 0; i < 5 || time.Since(start) < 500*time.Millisecond; i++ {
		call()
	}
	var times []int64
	var busy, cpu time.Duration
	for len(times) < 10 || (busy.Seconds() < seconds && len(times) < 5000) {
		c0, t0 := processCPU(), time.Now()
		call()
		d := time.Since(t0)
		cpu += processCPU() - c0
		busy += d
		times = append(times, d.Nanoseconds())
	}
	// Row 0 against a float64 product, as the OpenBLAS peer checks its own.
	for j := 0; j < n; j++ {
		var ref, mag float64
		for p := 0; p < k; p++ {
			bv := b[p*n+j]
			if tB == blas.Trans {
				bv = b[j*k+p]
			}
			ref += float64(a[p]) * float64(bv)
			mag += math.Abs(float64(a[p]) * float64(bv))
		}
		if math.Abs(ref-float64(c[j])) > 1e-5*mag {
			return fmt.Errorf("gonum Sgemm: wrong result at C[0,%d]: %g, want %g", j, c[j], ref)
		}
	}
	return json.NewEncoder(stdout).Encode(Sample{Peer: "gonum", Version: gonumVersion(), TimesNs: times, CPUWall: cpu.Seconds() / busy.Seconds()})
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gonumVersion is the gonum module version this binary was built with.
func gonumVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "gonum.org/v1/gonum" {
				return d.Version + " (pure Go)"
			}
		}
	}
	return "(pure Go)"
}
