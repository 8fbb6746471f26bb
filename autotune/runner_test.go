package autotune

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelc/modelc/autotune/db"
)

// faultKernel is a kernel whose variants misbehave on purpose, one way
// each (axis "mode"): the runner must record every fault with its reason.
type faultKernel struct {
	// prepare is how long the harness's case takes to prepare (kcase.prepare).
	prepare time.Duration
}

const (
	modeOK         = 0 // adds correctly
	modeCrash      = 1 // a fatal panic in another goroutine: the process dies
	modeHang       = 2 // never returns
	modeWrong      = 3 // off by one
	modePanic      = 4 // panics (recovered by the harness)
	modeSlow       = 5 // adds correctly, after 50 µs of spinning
	modeTimedCrash = 6 // checks fine, crashes when timed
	modeStopped    = 7 // stops itself (SIGSTOP): even the harness's watchdog is silent
	modeNoBuild    = 8 // its code does not compile
	modeNoEmit     = 9 // its generator panics
)

func (faultKernel) Family() string { return "fault" }
func (faultKernel) Shape() string  { return "n64" }
func (faultKernel) Space() *Space {
	return &Space{Axes: []Axis{{"mode", []int{0, 1, 2, 3, 4, 5, 6, 7}}}}
}
func (faultKernel) Default() Point          { return Point{0} }
func (faultKernel) FLOPs(batch int) float64 { return float64(64 * batch) }
func (k faultKernel) Choice(p Point) string { return k.Space().Name(p) }

func (k faultKernel) Program(vs []Point) (prog Program, err error) {
	var b strings.Builder
	for _, v := range vs {
		switch v[0] {
		case modeNoBuild:
			defer func() { prog.Go += "\nvar _ = mode8IsUndefined\n" }()
		case modeNoEmit:
			panic("no code for mode 9")
		}
	}
	b.WriteString(`package main

import (
	"fmt"
	"syscall"
	"time"
)

var variants = []variant{`)
	for _, v := range vs {
		fmt.Fprintf(&b, "{%q, \"\"}, ", fmt.Sprintf("mode=%d", v[0]))
	}
	fmt.Fprintf(&b, "}\n\nconst prepareNs = %d\n\nvar modes = []int{", k.prepare)
	for _, v := range vs {
		fmt.Fprintf(&b, "%d, ", v[0])
	}
	b.WriteString(`}

type kcase struct{ x, y []float32; checking bool }

func newCase(batch int) *kcase {
	c := &kcase{x: make([]float32, 64*batch), y: make([]float32, 64*batch)}
	for i := range c.x {
		c.x[i] = float32(i % 7)
	}
	return c
}

var sink *int

func (c *kcase) prepare() { time.Sleep(prepareNs) }

func (c *kcase) run(v int) {
	switch modes[v] {
	case 1:
		done := make(chan bool)
		go func() { *sink = 1; done <- true }()
		<-done
	case 2:
		for {
		}
	case 4:
		panic("variant 4 gives up")
	case 5:
		for t0 := time.Now(); time.Since(t0) < 50*time.Microsecond; {
		}
	case 7:
		syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
	case 6:
		if !c.checking {
			done := make(chan bool)
			go func() { *sink = 1; done <- true }()
			<-done
		}
	}
	for i, x := range c.x {
		c.y[i] = x + 1
	}
	if modes[v] == 3 {
		c.y[5]++
	}
}

func (c *kcase) check(v int) error {
	c.checking = true
	defer func() { c.checking = false }()
	c.run(v)
	for i, x := range c.x {
		if c.y[i] != x+1 {
			return fmt.Errorf("y[%d] = %g, want %g", i, c.y[i], x+1)
		}
	}
	return nil
}
`)
	return Program{Go: b.String()}, nil
}

// TestRunnerPrepareAlive: a harness that prepares its case for longer
// than the tuner waits for a line (2·timeout + 5s) says it is alive
// meanwhile and is not killed.
func TestRunnerPrepareAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	r := &Runner{Timeout: 100 * time.Millisecond, Rounds: 1, PerRound: 1, Sample: time.Millisecond}
	defer r.Close()
	if _, err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := r.Measure(context.Background(), faultKernel{prepare: 6 * time.Second}, 1, []Point{{modeOK}})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Status != db.StatusOK {
		t.Errorf("%s: %s %q", recs[0].Variant, recs[0].Status, recs[0].Reason)
	}
}

// TestRunnerBuildFaults: a variant whose code does not build, or whose
// generator panics, fails alone with the reason; the others of its batch
// are measured.
func TestRunnerBuildFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	r := &Runner{Timeout: time.Second, Rounds: 1, PerRound: 1, Sample: time.Millisecond}
	defer r.Close()
	if _, err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := r.Measure(context.Background(), faultKernel{}, 1, []Point{{modeOK}, {modeNoBuild}, {modeNoEmit}, {modeSlow}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "does not build: building the harness", "does not build: the generator panicked: no code for mode 9", ""}
	for i, rec := range recs {
		if (want[i] == "") != (rec.Status == db.StatusOK) || !strings.HasPrefix(rec.Reason, want[i]) {
			t.Errorf("%s: %s %q, want %q", rec.Variant, rec.Status, rec.Reason, want[i])
		}
	}
	if !strings.Contains(recs[1].Reason, "mode8IsUndefined") {
		t.Errorf("the reason does not quote the compiler: %q", recs[1].Reason)
	}
}

// TestRunnerFaults: a variant that crashes, hangs, panics or returns
// wrong results is recorded as failed with its reason; the good ones
// are timed, the slow one slower.
//
// Each check run prepares its case for longer than the timeout first
// (kcase.prepare), which is no variant's fault: the harness's watchdog
// does not time it.
func TestRunnerFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	r := &Runner{Timeout: time.Second, Rounds: 2, PerRound: 2, Sample: time.Millisecond}
	defer r.Close()
	ctx := context.Background()
	p, err := r.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Machine.ID() != db.ThisMachine().ID() || p.Emulated || p.Modelc == "" || !strings.HasPrefix(p.Go, "go") {
		t.Errorf("probe %+v, this machine %+v", p, db.ThisMachine())
	}
	k := faultKernel{prepare: 1200 * time.Millisecond}
	vs := k.Space().All()[:modeNoBuild]
	recs, err := r.Measure(ctx, k, 2, vs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"mode=1": "crashed (exit status 2): panic: runtime error: invalid memory address or nil pointer dereference",
		"mode=2": "hung: no result within 1s (killed)",
		"mode=3": "wrong results (against the pure-Go twin): y[5] = 7, want 6",
		"mode=4": "panicked: variant 4 gives up",
		"mode=6": "crashed (exit status 2): panic: runtime error: invalid memory address",
		"mode=7": "hung: no result within 1s (killed)",
	}
	byName := map[string]db.Record{}
	for _, rec := range recs {
		byName[rec.Variant] = rec
		if rec.Kernel != "fault" || rec.Shape != "n64" || rec.Batch != "2-8" || rec.Machine != p.Machine.ID() || rec.Runner != "local" {
			t.Errorf("record %+v", rec)
		}
		if w, bad := want[rec.Variant]; bad {
			if rec.Status != db.StatusFailed || !strings.HasPrefix(rec.Reason, w) {
				t.Errorf("%s: status %s reason %q, want failed: %q", rec.Variant, rec.Status, rec.Reason, w)
			}
			continue
		}
		if rec.Status != db.StatusOK || rec.Samples != 4 || !(rec.P10Ns <= rec.MedianNs && rec.MedianNs <= rec.P90Ns) {
			t.Errorf("%s: %+v", rec.Variant, rec)
		}
	}
	for _, rec := range recs {
		t.Logf("%s: %s %s %.0f ns", rec.Variant, rec.Status, rec.Reason, rec.MedianNs)
	}
	if ok, slow := byName["mode=0"], byName["mode=5"]; !(slow.MedianNs > ok.MedianNs+20e3) {
		t.Errorf("the slow variant %.0f ns is not tens of µs slower than the fast one %.0f ns", slow.MedianNs, ok.MedianNs)
	}
}
