//go:build modelcharness

// This file is the fixed part of the autotuner's harness: a program that
// is built for the target machine with the variants of one kernel (the
// kernel part, emitted by Kernel.Program) and run there. It is embedded in
// modelc (harness.go) and compiled only inside a harness; the build tag
// keeps it out of modelc's own packages.
//
// The kernel part defines
//
//	var variants []variant         // name and tier of each variant
//	func newCase(batch int) *kcase // inputs for batch rows, seeded
//	func (c *kcase) run(v int)     // one call of variant v
//	func (c *kcase) prepare()      // what every check needs, computed once
//	                               // before any variant's check is timed
//	                               // by the watchdog (exact results)
//	func (c *kcase) check(v int) error
//	                               // variant v against its pure-Go twin by
//	                               // design.md's kernel rule
//
// Commands (one JSON object per line on stdout, so the tuner sees how far
// a run got when it crashes or hangs):
//
//	probe                      the machine: CPU, tier, caches, versions
//	check -batch B V...        {"v":V,"start":true} then {"v":V,"ok":true} or {"v":V,"error":"…"},
//	                           after {"v":-1} lines while it prepares the case
//	time -batch B -rounds R -sample D V...
//	                           {"v":V,"ns":…,"wall_ns":…,"repeats":N} per sample,
//	                           interleaved round by round over the variants
//
// A watchdog ends the process with {"v":V,"error":"timed out …"} when one
// variant's check or sample outlasts -timeout.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelc/modelc/runtime"
)

type variant struct{ name, tier string }

var out = bufio.NewWriter(os.Stdout)

func emit(v any) {
	b, _ := json.Marshal(v)
	out.Write(b)
	out.WriteByte('\n')
	out.Flush()
}

func main() {
	// Two Ps at least, so the watchdog runs beside a variant stuck in a
	// loop without preemption points (assembly).
	if goruntime.GOMAXPROCS(0) < 2 {
		goruntime.GOMAXPROCS(2)
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: harness probe | check … | time …")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	batch := fs.Int("batch", 1, "rows")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "per variant check or sample")
	rounds := fs.Int("rounds", 5, "interleaved rounds")
	perRound := fs.Int("per-round", 3, "samples per variant per round")
	sample := fs.Duration("sample", 5*time.Millisecond, "least time of one sample")
	fs.Parse(os.Args[2:])
	var vs []int
	for _, a := range fs.Args() {
		v, err := strconv.Atoi(a)
		if err != nil || v < 0 || v >= len(variants) {
			fmt.Fprintf(os.Stderr, "no variant %q (have 0…%d)\n", a, len(variants)-1)
			os.Exit(2)
		}
		vs = append(vs, v)
	}
	go watchdog()
	switch os.Args[1] {
	case "probe":
		probe()
	case "check":
		c := newCase(*batch)
		// Not under the watchdog: on a large batch the exact results
		// take longer than a variant's check may. A line a second
		// ({"v":-1}) tells the tuner the harness is alive meanwhile.
		alive(c.prepare)
		for _, v := range vs {
			emit(map[string]any{"v": v, "start": true})
			if err := checkOne(c, v); err != nil {
				emit(map[string]any{"v": v, "error": err.Error()})
				continue
			}
			emit(map[string]any{"v": v, "ok": true})
		}
	case "time":
		timeAll(newCase(*batch), vs, *rounds, *perRound, *sample)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// alive runs f, printing {"v":-1} every second until it returns.
func alive(f func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				emit(map[string]any{"v": -1})
			}
		}
	}()
	f()
	close(done)
	<-stopped
}

// current is the variant being checked or timed, and deadline when the
// watchdog gives up on it (0: none).
var current, deadline atomic.Int64

func arm(v int) {
	current.Store(int64(v))
	deadline.Store(time.Now().Add(timeout).UnixNano())
}

func disarm() { deadline.Store(0) }

func watchdog() {
	for {
		time.Sleep(20 * time.Millisecond)
		if d := deadline.Load(); d != 0 && time.Now().UnixNano() > d {
			emit(map[string]any{"v": current.Load(), "error": fmt.Sprintf("timed out: no result after %v", timeout)})
			os.Exit(3)
		}
	}
}

// timeout bounds one variant's check or sample (-timeout).
var timeout time.Duration

// tierNamed returns the runtime.Tier of a name.
func tierNamed(name string) (runtime.Tier, bool) {
	for t := runtime.TierGeneric; t.String() != "tier(?)"; t++ {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// checkOne runs variant v's check, turning a panic into an error.
func checkOne(c *kcase, v int) (err error) {
	if t, ok := tierNamed(variants[v].tier); variants[v].tier != "" && (!ok || !runtime.Supports(t)) {
		return fmt.Errorf("needs the %s tier; this CPU runs %s", variants[v].tier, runtime.CPUTier())
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked: %v", r)
		}
	}()
	arm(v)
	defer disarm()
	if err := c.check(v); err != nil {
		return fmt.Errorf("wrong results (against the pure-Go twin): %v", err)
	}
	return nil
}

// timeAll times the variants interleaved: each round visits every
// variant (in an order rotated by one per round) for perRound samples of
// at least sample each. A sample is the time of one call: the thread's
// CPU time where the OS has a thread clock (Linux), which leaves out the
// time the thread waited for a core while other processes ran, else the
// wall time, and then a sample during which other processes used more
// than 15% of a core is taken again (up to twice) and the repeat
// reported.
func timeAll(c *kcase, vs []int, rounds, perRound int, sample time.Duration) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	reps := make([]int, len(vs))
	for i, v := range vs {
		emit(map[string]any{"v": v, "start": true})
		arm(v)
		reps[i] = calibrate(c, v, sample)
		disarm()
	}
	for r := range rounds {
		for j := range vs {
			i := (j + r) % len(vs)
			v := vs[i]
			for range perRound {
				for attempt := 0; ; attempt++ {
					arm(v)
					ns, wall, others := timeReps(c, v, reps[i])
					disarm()
					busy := ns == wall && others > 0.15*wall*float64(reps[i])
					if !busy || attempt == 2 {
						emit(map[string]any{"v": v, "ns": ns, "wall_ns": wall, "repeats": attempt})
						break
					}
				}
			}
		}
	}
}

// calibrate returns how many calls of v make one sample of at least d.
func calibrate(c *kcase, v int, d time.Duration) int {
	c.run(v) // warm up: page faults, caches
	n := 1
	for {
		t0 := time.Now()
		for range n {
			c.run(v)
		}
		if el := time.Since(t0); el >= d || n >= 1<<30 {
			return n
		} else if el <= 0 {
			n *= 100
		} else {
			n = max(n+1, int(float64(n)*1.2*float64(d)/float64(el)))
		}
	}
}

// timeReps returns the time of one call of v, the mean of n: by the
// thread's CPU clock (wall time where there is none), by the wall clock,
// and the CPU time, in ns, other processes used meanwhile (0 where
// unknown).
func timeReps(c *kcase, v, n int) (ns, wall, others float64) {
	b0, s0, c0 := busyNs(), selfNs(), threadCPUNs()
	t0 := time.Now()
	for range n {
		c.run(v)
	}
	el := float64(time.Since(t0).Nanoseconds())
	c1 := threadCPUNs()
	wall = el / float64(n)
	ns = wall
	if c0 >= 0 && c1 > c0 {
		ns = (c1 - c0) / float64(n)
	}
	if b0 >= 0 {
		others = max(0, busyNs()-b0-(selfNs()-s0))
	}
	return ns, wall, others
}

// busyNs is the machine's non-idle CPU time from /proc/stat, or -1.
func busyNs() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return -1
	}
	var busy float64
	for i, s := range strings.Fields(sc.Text())[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseFloat(s, 64)
		busy += v
	}
	return busy * 1e7 // USER_HZ = 100
}

// selfNs is this process's CPU time.
func selfNs() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

func probe() {
	l1, l2, l3 := probeCaches()
	emit(map[string]any{
		"cpu": probeCPUModel(), "os": goruntime.GOOS, "arch": goruntime.GOARCH, "tier": runtime.CPUTier().String(),
		"cpus": goruntime.NumCPU(), "l1d_kib": l1, "l2_kib": l2, "l3_kib": l3,
		"go": goruntime.Version(), "modelc": runtime.Version,
	})
}
