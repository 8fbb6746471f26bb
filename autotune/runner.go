package autotune

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/modelc/modelc/autotune/db"
)

// Target is where variants run: this machine, or one reached through a
// command prefix (--runner), for a GOOS/GOARCH the harnesses are
// cross-built for.
type Target struct {
	// Prefix is a command that runs one shell command line, given as its
	// last argument, on the target: "ssh HOST", "docker exec C sh -c".
	// Empty: run here.
	Prefix []string
	// GOOS and GOARCH of the target (empty: this machine's, or asked of
	// the target with uname when Prefix is set).
	GOOS, GOARCH string
	// Emulator runs binaries of another architecture here
	// ("qemu-aarch64-static"): its measurements are flagged Emulated.
	Emulator []string
	// Emulated flags every measurement as taken under emulation (a
	// remote machine that is a qemu guest without acceleration).
	Emulated bool
	// Dir is the directory on a remote target that holds the uploaded
	// binaries (default /tmp/modelc-tune).
	Dir string

	installed []string // remote binaries, removed by Runner.Close
}

// Name describes the target for records ("local", "ssh host", …).
func (t *Target) Name() string {
	switch {
	case len(t.Prefix) > 0:
		return strings.Join(t.Prefix, " ")
	case len(t.Emulator) > 0:
		return strings.Join(t.Emulator, " ")
	}
	return "local"
}

// remote reports whether binaries run through Prefix.
func (t *Target) remote() bool { return len(t.Prefix) > 0 }

// resolve fills GOOS and GOARCH: this machine's, or the remote's from
// uname -sm; a local foreign architecture gets qemu-user if installed.
func (t *Target) resolve(ctx context.Context) error {
	if t.GOOS != "" && t.GOARCH != "" {
		if !t.remote() && t.GOARCH != goruntime.GOARCH && len(t.Emulator) == 0 {
			q := "qemu-" + qemuArch(t.GOARCH) + "-static"
			if _, err := exec.LookPath(q); err != nil {
				return fmt.Errorf("target %s/%s: this machine is %s and %s is not installed (apt-get install qemu-user-static), or give --runner", t.GOOS, t.GOARCH, goruntime.GOARCH, q)
			}
			t.Emulator = []string{q}
		}
		return nil
	}
	if !t.remote() {
		t.GOOS, t.GOARCH = goruntime.GOOS, goruntime.GOARCH
		return nil
	}
	out, err := t.shell(ctx, "uname -sm", nil)
	if err != nil {
		return fmt.Errorf("asking the target its OS and architecture (uname -sm through %q): %w", t.Name(), err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return fmt.Errorf("target %q: uname -sm printed %q", t.Name(), out)
	}
	t.GOOS = strings.ToLower(f[0])
	switch f[1] {
	case "x86_64", "amd64":
		t.GOARCH = "amd64"
	case "aarch64", "arm64":
		t.GOARCH = "arm64"
	case "riscv64":
		t.GOARCH = "riscv64"
	case "ppc64le":
		t.GOARCH = "ppc64le"
	case "s390x":
		t.GOARCH = "s390x"
	default:
		return fmt.Errorf("target %q: unknown architecture %q (give --target GOOS/GOARCH)", t.Name(), f[1])
	}
	return nil
}

func qemuArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return goarch
}

// shell runs a shell command line on a remote target, feeding it stdin.
func (t *Target) shell(ctx context.Context, line string, stdin io.Reader) ([]byte, error) {
	cmd := exec.CommandContext(ctx, t.Prefix[0], append(slices.Clone(t.Prefix[1:]), line)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %q: %v: %s", strings.Join(t.Prefix, " "), line, err, trim(stderr.String(), 2000))
	}
	return out, nil
}

// install makes a local binary runnable on the target and returns the
// command line that starts it.
func (t *Target) install(ctx context.Context, bin string) ([]string, error) {
	if !t.remote() {
		return append(slices.Clone(t.Emulator), bin), nil
	}
	sum, err := fileHash(bin)
	if err != nil {
		return nil, err
	}
	dir := t.Dir
	if dir == "" {
		dir = "/tmp/modelc-tune"
	}
	remote := dir + "/harness-" + sum[:16]
	f, err := os.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line := fmt.Sprintf("mkdir -p %s && cat > %s.tmp && chmod +x %s.tmp && mv %s.tmp %s", quote(dir), quote(remote), quote(remote), quote(remote), quote(remote))
	if _, err := t.shell(ctx, line, f); err != nil {
		return nil, fmt.Errorf("copying the harness to the target: %w", err)
	}
	t.installed = append(t.installed, remote)
	return []string{remote}, nil
}

// command returns the process that runs argv (from install plus
// arguments) on the target.
func (t *Target) command(ctx context.Context, argv []string) *exec.Cmd {
	if !t.remote() {
		return exec.CommandContext(ctx, argv[0], argv[1:]...)
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	// exec: the shell becomes the harness, so a signal the connection
	// delivers reaches it.
	return exec.CommandContext(ctx, t.Prefix[0], append(slices.Clone(t.Prefix[1:]), "exec "+strings.Join(q, " "))...)
}

// quote quotes s for a POSIX shell.
func quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Probe describes the target machine: its signature and the Go and
// modelc versions of the harness built for it.
type Probe struct {
	Machine  db.Machine
	Go       string
	Modelc   string
	Emulated bool
}

// Runner builds harnesses for a target and runs them: checks, then
// interleaved timing.
type Runner struct {
	Target *Target
	// Timeout bounds one variant's check or timing sample (default 10 s).
	Timeout time.Duration
	// Rounds, PerRound and Sample shape the timing (defaults 5, 3, 5 ms):
	// Rounds interleaved rounds, each taking PerRound samples of each
	// variant, a sample lasting at least Sample.
	Rounds, PerRound int
	Sample           time.Duration
	// Log, when set, receives one line per failure and build.
	Log func(format string, args ...any)

	b     *builder
	probe *Probe
}

// Start resolves the target and probes it.
func (r *Runner) Start(ctx context.Context) (*Probe, error) {
	if r.Target == nil {
		r.Target = &Target{}
	}
	if err := r.Target.resolve(ctx); err != nil {
		return nil, err
	}
	b, err := newBuilder(r.Target.GOOS, r.Target.GOARCH)
	if err != nil {
		return nil, err
	}
	r.b = b
	bin, err := b.build(ctx, probeProgram)
	if err != nil {
		return nil, err
	}
	argv, err := r.Target.install(ctx, bin)
	if err != nil {
		return nil, err
	}
	cmd := r.Target.command(ctx, append(argv, "probe"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("probing the target (%s): %v\n%s", r.Target.Name(), err, trim(stderr.String(), 2000))
	}
	var p struct {
		db.Machine
		Go     string `json:"go"`
		Modelc string `json:"modelc"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &p); err != nil {
		return nil, fmt.Errorf("probing the target: it printed %q: %v", out, err)
	}
	r.probe = &Probe{Machine: p.Machine, Go: p.Go, Modelc: p.Modelc,
		Emulated: r.Target.Emulated || len(r.Target.Emulator) > 0 || strings.Contains(strings.ToUpper(p.Machine.CPU), "QEMU")}
	return r.probe, nil
}

// Close removes the build directory, and the binaries copied to a
// remote target.
func (r *Runner) Close() {
	if r.b != nil {
		r.b.close()
	}
	if t := r.Target; t != nil && t.remote() && len(t.installed) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q := make([]string, len(t.installed))
		for i, p := range t.installed {
			q[i] = quote(p)
		}
		if _, err := t.shell(ctx, "rm -f "+strings.Join(q, " "), nil); err != nil {
			r.logf("removing the harnesses from the target: %v", err)
		}
		t.installed = nil
	}
}

func (r *Runner) defaults() {
	if r.Timeout <= 0 {
		r.Timeout = 10 * time.Second
	}
	if r.Rounds <= 0 {
		r.Rounds = 5
	}
	if r.PerRound <= 0 {
		r.PerRound = 3
	}
	if r.Sample <= 0 {
		r.Sample = 5 * time.Millisecond
	}
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(format, args...)
	}
}

// Measure builds the variants vs of k into one harness, checks each
// against its pure-Go twin and times those that match, interleaved, at
// batch rows. It returns one record per variant (failures included: a
// variant that does not build, crashes, hangs or returns wrong results),
// in the order of vs. An error means nothing could be measured (the
// target is unreachable, ctx ended).
func (r *Runner) Measure(ctx context.Context, k Kernel, batch int, vs []Point) ([]db.Record, error) {
	if r.probe == nil {
		return nil, errors.New("autotune: Runner.Measure before Start")
	}
	r.defaults()
	recs := make([]db.Record, len(vs))
	for i, v := range vs {
		recs[i] = db.Record{Kernel: k.Family(), Shape: k.Shape(), Batch: db.Bucket(batch), Variant: k.Space().Name(v),
			Machine: r.probe.Machine.ID(), Emulated: r.probe.Emulated, Runner: r.Target.Name(),
			Modelc: r.probe.Modelc, Go: r.probe.Go}
	}
	bin, err := r.buildVariants(ctx, k, vs)
	var bad *buildError
	if errors.As(err, &bad) {
		// The toolchain works (the probe built): the variants' code does
		// not. Alone, each builds or is a failure with the compiler's
		// reason, and the rest are measured.
		if len(vs) == 1 {
			recs[0].Status, recs[0].Reason, recs[0].At = db.StatusFailed, bad.Error(), time.Now().UTC()
			r.logf("%s %s: variant %s failed: %s", k.Family(), k.Shape(), recs[0].Variant, bad)
			return recs, nil
		}
		for i := range vs {
			one, err := r.Measure(ctx, k, batch, vs[i:i+1])
			if err != nil {
				return nil, err
			}
			recs[i] = one[0]
		}
		return recs, nil
	}
	if err != nil {
		return nil, err
	}
	argv, err := r.Target.install(ctx, bin)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(vs))
	for i := range idx {
		idx[i] = i
	}
	common := []string{"-batch", fmt.Sprint(batch), "-timeout", r.Timeout.String()}
	// Checks: a process per run of variants, another after each crash.
	failed := map[int]string{}
	err = r.runAll(ctx, argv, append([]string{"check"}, common...), idx, func(v int, line harnessLine) {
		if line.Error != "" {
			failed[v] = line.Error
		}
	}, failed)
	if err != nil {
		return nil, err
	}
	var ok []int
	for _, i := range idx {
		if _, bad := failed[i]; !bad {
			ok = append(ok, i)
		}
	}
	samples := map[int][]float64{}
	repeats := map[int]int{}
	if len(ok) > 0 {
		args := append([]string{"time"}, common...)
		args = append(args, "-rounds", fmt.Sprint(r.Rounds), "-per-round", fmt.Sprint(r.PerRound), "-sample", r.Sample.String())
		err = r.runAll(ctx, argv, args, ok, func(v int, line harnessLine) {
			if line.Error != "" {
				failed[v] = line.Error
				return
			}
			if line.Ns > 0 {
				samples[v] = append(samples[v], line.Ns)
				repeats[v] += line.Repeats
			}
		}, failed)
		if err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC()
	for i := range recs {
		recs[i].At = now
		if why, bad := failed[i]; bad {
			recs[i].Status, recs[i].Reason = db.StatusFailed, why
			r.logf("%s %s batch %d: variant %s failed: %s", k.Family(), k.Shape(), batch, recs[i].Variant, why)
			continue
		}
		s := samples[i]
		if len(s) == 0 {
			recs[i].Status, recs[i].Reason = db.StatusFailed, "no timing samples"
			continue
		}
		slices.Sort(s)
		recs[i].Status = db.StatusOK
		recs[i].MedianNs = quantile(s, 0.5)
		recs[i].P10Ns, recs[i].P90Ns = quantile(s, 0.1), quantile(s, 0.9)
		recs[i].Samples, recs[i].Repeats = len(s), repeats[i]
	}
	return recs, nil
}

// buildError is a harness whose variants' code does not build (or whose
// generator failed on them): their fault, not the toolchain's.
type buildError struct{ msg string }

func (e *buildError) Error() string { return e.msg }

// buildVariants emits and builds the harness of variants vs of k.
func (r *Runner) buildVariants(ctx context.Context, k Kernel, vs []Point) (bin string, err error) {
	defer func() {
		// A generator that panics on a variant is a bug to report, and
		// that variant's failure, not the tuner's.
		if p := recover(); p != nil {
			err = &buildError{fmt.Sprintf("does not build: the generator panicked: %v", p)}
		}
	}()
	prog, err := k.Program(vs)
	if err != nil {
		return "", &buildError{"does not build: " + err.Error()}
	}
	bin, err = r.b.build(ctx, prog)
	if err != nil && ctx.Err() == nil {
		return "", &buildError{"does not build: " + trim(err.Error(), 600)}
	}
	return bin, err
}

// quantile of sorted s, interpolated.
func quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	x := q * float64(len(s)-1)
	i := int(x)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (x-float64(i))*(s[i+1]-s[i])
}

// harnessLine is one line a harness prints.
type harnessLine struct {
	V       *int    `json:"v"`
	Start   bool    `json:"start"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error"`
	Ns      float64 `json:"ns"`
	Repeats int     `json:"repeats"`
}

// runAll runs the harness command args over variants vs until every one
// has finished or failed: when a process dies (a crash) or stops
// printing (a hang, killed after the timeout), the variant it was on is
// failed with the reason and the rest run in a new process. onLine sees
// each variant's lines.
func (r *Runner) runAll(ctx context.Context, argv, args []string, vs []int, onLine func(int, harnessLine), failed map[int]string) error {
	left := slices.Clone(vs)
	for len(left) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		cur, err := r.runOnce(ctx, argv, args, left, onLine)
		if err == nil {
			return nil
		}
		var crash *crashError
		if !errors.As(err, &crash) || cur < 0 {
			return err
		}
		failed[cur] = crash.reason
		// Every variant before cur in left finished (checks), or must run
		// again without cur (timing, whose rounds visit all of them).
		at := slices.Index(left, cur)
		if args[0] == "check" {
			left = left[at+1:]
		} else {
			left = slices.Delete(left, at, at+1)
		}
	}
	return nil
}

// crashError is a harness process that died or hung on a variant.
type crashError struct{ reason string }

func (e *crashError) Error() string { return e.reason }

// runOnce runs one harness process over vs and returns the variant it
// was on when it failed (-1 if none).
func (r *Runner) runOnce(ctx context.Context, argv, args []string, vs []int, onLine func(int, harnessLine)) (int, error) {
	full := append(slices.Clone(argv), args...)
	for _, v := range vs {
		full = append(full, fmt.Sprint(v))
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := r.Target.command(pctx, full)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return -1, err
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("starting the harness: %w", err)
	}
	// The harness's own watchdog reports a hang; this one catches a
	// harness (or a connection) that stops answering altogether.
	lines := make(chan harnessLine)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l harnessLine
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.V != nil {
				lines <- l
			}
		}
	}()
	cur, hung := -1, false
	grace := 2*r.Timeout + 5*time.Second
	timer := time.NewTimer(grace)
	defer timer.Stop()
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			timer.Reset(grace)
			v := *l.V
			if v < 0 {
				continue // alive, preparing
			}
			if l.Start {
				cur = v
				continue
			}
			if strings.HasPrefix(l.Error, "timed out") {
				hung = true // the harness exits; the reason is set below
				continue
			}
			onLine(v, l)
		case <-timer.C:
			hung = true
			cancel()
			for range lines {
			}
			break loop
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return cur, ctx.Err()
	}
	switch {
	case hung:
		return cur, &crashError{fmt.Sprintf("hung: no result within %v (killed)", r.Timeout)}
	case err != nil:
		why := strings.TrimSpace(stderr.String())
		if first, _, ok := strings.Cut(why, "\n\n"); ok {
			why = first // the Go runtime's message, without the goroutine dump
		}
		return cur, &crashError{fmt.Sprintf("crashed (%v): %s", err, trim(why, 300))}
	}
	return -1, nil
}
