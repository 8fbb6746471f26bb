package db

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var testMachine = Machine{CPU: "Test CPU @ 3.00GHz", OS: "linux", Arch: "amd64", Tier: "avx2", CPUs: 4, L1DKiB: 32, L2KiB: 512, L3KiB: 32768}

func rec(kernel, variant string, ns float64, at time.Time) Record {
	return Record{Kernel: kernel, Shape: "n64_k64", Batch: Bucket(1), Variant: variant, Status: StatusOK,
		MedianNs: ns, P10Ns: ns * 0.98, P90Ns: ns * 1.05, Samples: 30, Modelc: "test", Go: "go1.x", At: at}
}

// TestMain lets a test run this binary as a database writer (a real
// process, to be killed or run beside another).
func TestMain(m *testing.M) {
	if spec := os.Getenv("MODELC_TEST_DB_WRITER"); spec != "" {
		os.Exit(writer(spec))
	}
	os.Exit(m.Run())
}

// writer appends batches of records to a database: spec is
// "path|name|batches|size"; batch b holds records name/b/0 … name/b/size-1.
func writer(spec string) int {
	f := strings.Split(spec, "|")
	batches, _ := strconv.Atoi(f[2])
	size, _ := strconv.Atoi(f[3])
	for b := 0; b < batches; b++ {
		var recs []Record
		for i := range size {
			recs = append(recs, rec(f[1], fmt.Sprintf("b=%d,i=%d", b, i), float64(1000+b*size+i), time.Now()))
		}
		if _, err := Update(f[0], testMachine, recs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "m.jsonl")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []Record{rec("linear", "pw=64", 900, t0), rec("linear", "pw=32", 800, t0), rec("conv2d", "x", 5, t0)}
	recs[2].Status, recs[2].MedianNs, recs[2].Reason = StatusFailed, 0, "crashed: SIGSEGV"
	w, err := Update(path, testMachine, recs)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, Options{Machine: testMachine})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) != 0 || d.Foreign || d.Missing {
		t.Fatalf("problems %v foreign %v missing %v", d.Problems, d.Foreign, d.Missing)
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	if d.Hash != hex.EncodeToString(sum[:]) || w.Hash != d.Hash {
		t.Errorf("hash %s, written %s, file %x", d.Hash, w.Hash, sum)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], `{"modelc_tune_db":1,"machine_id":"linux-amd64_test-cpu-3-00ghz_avx2_4cpu_32k-512k-32m"`) {
		t.Fatalf("file:\n%s", data)
	}
	// Sorted by key: conv2d before linear, pw=32 before pw=64.
	for i, want := range []string{`"kernel":"conv2d"`, `"variant":"pw=32"`, `"variant":"pw=64"`} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("line %d = %s, want %s", i+2, lines[i+1], want)
		}
	}
	if d.Machine != testMachine {
		t.Errorf("machine %+v", d.Machine)
	}
	best, ok := d.Best("linear", "n64_k64", "1")
	if !ok || best.Variant != "pw=32" {
		t.Errorf("best = %+v, %v", best, ok)
	}
	if _, ok := d.Best("conv2d", "n64_k64", "1"); ok {
		t.Error("a failed record was chosen")
	}
	// A later measurement of the same key replaces the earlier one; an
	// older one does not.
	if _, err := Update(path, testMachine, []Record{rec("linear", "pw=32", 1200, t0.Add(time.Hour)), rec("linear", "pw=64", 1, t0.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	d, _ = Open(path, Options{Machine: testMachine})
	if best, _ := d.Best("linear", "n64_k64", "1"); best.Variant != "pw=64" || len(d.Records) != 3 {
		t.Errorf("after the update: best %+v, %d records", best, len(d.Records))
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestEmulatedNeverChosen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	now := time.Now()
	fast := rec("linear", "fast-under-qemu", 10, now)
	fast.Emulated = true
	if _, err := Update(path, testMachine, []Record{fast, rec("linear", "real", 100, now)}); err != nil {
		t.Fatal(err)
	}
	d, _ := Open(path, Options{Machine: testMachine})
	if best, _ := d.Best("linear", "n64_k64", "1"); best.Variant != "real" {
		t.Errorf("best = %s, want the measured one", best.Variant)
	}
}

func TestBucket(t *testing.T) {
	for b, want := range map[int]string{1: "1", 2: "2-8", 8: "2-8", 9: "9-32", 32: "9-32", 33: "33-128", 128: "33-128", 129: "129+", 4096: "129+"} {
		if got := Bucket(b); got != want {
			t.Errorf("Bucket(%d) = %s, want %s", b, got, want)
		}
	}
}

func TestMachineID(t *testing.T) {
	if got, want := testMachine.ID(), "linux-amd64_test-cpu-3-00ghz_avx2_4cpu_32k-512k-32m"; got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
	long := testMachine
	long.CPU = strings.Repeat("Very Long CPU Name ", 10)
	id := long.ID()
	if len(id) != 100 || strings.ContainsAny(id, " /()@") {
		t.Errorf("ID of a long name = %q (%d bytes)", id, len(id))
	}
	long2 := long
	long2.L3KiB = 1024
	if long2.ID() == id {
		t.Error("two long names that differ in the cut part share an ID")
	}
	m := ThisMachine()
	if m.CPUs < 1 || m.OS == "" || m.Arch == "" || m.Tier == "" {
		t.Errorf("ThisMachine = %+v", m)
	}
	if p, err := DefaultPath(testMachine); err != nil || !strings.HasSuffix(p, filepath.Join("modelc", "tune", testMachine.ID()+".jsonl")) {
		t.Errorf("DefaultPath = %s, %v", p, err)
	}
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if p, _ := DefaultPath(testMachine); p != "/x/cache/modelc/tune/"+testMachine.ID()+".jsonl" {
		t.Errorf("DefaultPath with XDG_CACHE_HOME = %s", p)
	}
}

func TestParseCacheSize(t *testing.T) {
	for s, want := range map[string]int{"32K": 32, "1024K": 1024, "32M": 32768, "1G": 1 << 20, "65536": 64, "": 0, "xK": 0, "-1K": 0} {
		if got := parseCacheSize(s); got != want {
			t.Errorf("parseCacheSize(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestCorruptLines: a hand-edited, truncated file is read with every good
// record; each bad line is reported with its number and skipped; the next
// write keeps the skipped lines in .rejected.
func TestCorruptLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	now := time.Now().UTC()
	if _, err := Update(path, testMachine, []Record{rec("linear", "a", 100, now), rec("linear", "b", 200, now), rec("linear", "c", 300, now)}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	other := rec("linear", "z", 1, now)
	other.Machine = "someone-else"
	bad := []string{
		lines[0],
		lines[1],
		`{"kernel":"linear","shape":"n64_k64","batch":"1","variant":"typo","machine":"` + testMachine.ID() + `","status":"ok","median_nz":5}`,
		`not json at all`,
		lines[2],
		`{"kernel":"linear","shape":"n64_k64","batch":"1","variant":"noreason","machine":"` + testMachine.ID() + `","status":"failed"}`,
		mustJSON(t, other),
		lines[3][:len(lines[3])/2], // truncated by a crash of some other tool
	}
	if err := os.WriteFile(path, []byte(strings.Join(bad, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, Options{Machine: testMachine})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Records) != 2 || d.Records[0].Variant != "a" || d.Records[1].Variant != "b" {
		t.Errorf("records %+v", d.Records)
	}
	var got []int
	for _, p := range d.Problems {
		got = append(got, p.Line)
	}
	if fmt.Sprint(got) != "[3 4 6 7 8]" {
		t.Errorf("problem lines %v, want [3 4 6 7 8]: %v", got, d.ProblemLines())
	}
	msgs := strings.Join(d.ProblemLines(), "\n")
	for _, want := range []string{path + ":3: skipped: not a JSON record: json: unknown field \"median_nz\"", ":6: skipped: record linear n64_k64 batch 1 variant noreason: status failed without a reason", ":7: skipped: record of machine someone-else"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("problems lack %q:\n%s", want, msgs)
		}
	}
	if _, err := Update(path, testMachine, []Record{rec("linear", "d", 50, now)}); err != nil {
		t.Fatal(err)
	}
	d, _ = Open(path, Options{Machine: testMachine})
	if len(d.Records) != 3 || len(d.Problems) != 0 {
		t.Errorf("after rewriting: %d records, problems %v", len(d.Records), d.ProblemLines())
	}
	rej, err := os.ReadFile(path + ".rejected")
	if err != nil || strings.Count(string(rej), "\n# ") != 4 || !strings.Contains(string(rej), "not json at all") {
		t.Errorf(".rejected: %v\n%s", err, rej)
	}
}

func mustJSON(t *testing.T, r Record) string {
	t.Helper()
	d := &DB{Records: []Record{r}}
	b, err := d.encode()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")[1]
}

// TestOtherMachine: a file of another machine is refused unless allowed,
// and then flagged; a file whose header was lost still knows its machine.
func TestOtherMachine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	if _, err := Update(path, testMachine, []Record{rec("linear", "a", 100, time.Now())}); err != nil {
		t.Fatal(err)
	}
	here := testMachine
	here.Tier = "avx512"
	_, err := Open(path, Options{Machine: here})
	if !errors.Is(err, ErrOtherMachine) || !strings.Contains(err.Error(), "Test CPU @ 3.00GHz (linux/amd64, tier avx2") {
		t.Fatalf("Open of another machine's file: %v", err)
	}
	d, err := Open(path, Options{Machine: here, AllowOther: true})
	if err != nil || !d.Foreign || len(d.Records) != 1 {
		t.Fatalf("allowed: %v, %+v", err, d)
	}
	if _, err := Update(path, here, []Record{rec("linear", "b", 1, time.Now())}); !errors.Is(err, ErrOtherMachine) {
		t.Errorf("Update with another machine's records: %v", err)
	}
	// Lose the header.
	data, _ := os.ReadFile(path)
	_, rest, _ := strings.Cut(string(data), "\n")
	os.WriteFile(path, []byte(rest), 0o644)
	if _, err := Open(path, Options{Machine: here}); !errors.Is(err, ErrOtherMachine) {
		t.Errorf("headerless file of another machine: %v", err)
	}
	if d, err := Open(path, Options{Machine: testMachine}); err != nil || len(d.Records) != 1 {
		t.Errorf("headerless file of this machine: %v", err)
	}
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")
	now := time.Now()
	Update(a, testMachine, []Record{rec("linear", "1", 100, now), rec("linear", "2", 200, now)})
	Update(b, testMachine, []Record{rec("linear", "2", 150, now.Add(time.Second)), rec("linear", "3", 300, now)})
	d, problems, err := Merge(a, b)
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	var got []string
	for _, r := range d.Records {
		got = append(got, fmt.Sprintf("%s:%g", r.Variant, r.MedianNs))
	}
	if fmt.Sprint(got) != "[1:100 2:150 3:300]" {
		t.Errorf("merged %v", got)
	}
	// Into a new file.
	if d, _, err := Merge(filepath.Join(dir, "new.jsonl"), a); err != nil || len(d.Records) != 3 || d.Machine != testMachine {
		t.Errorf("merge into a new file: %v", err)
	}
	other := testMachine
	other.CPUs = 8
	Update(c, other, []Record{rec("linear", "9", 1, now)})
	if _, _, err := Merge(a, c); !errors.Is(err, ErrOtherMachine) {
		t.Errorf("merging another machine's file: %v", err)
	}
	if _, _, err := Merge(a, filepath.Join(dir, "nope.jsonl")); err == nil {
		t.Error("merging a missing file: no error")
	}
}

// TestKilledWriter kills a writer process (SIGKILL) at random points of
// a run of updates; every time the database reads without a problem and
// holds whole batches only: an update is all or nothing.
func TestKilledWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	exe, _ := os.Executable()
	const size = 25
	prev := 0
	for round := range 24 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("MODELC_TEST_DB_WRITER=%s|w%d|100000|%d", path, round, size))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once it has written something, at a point that varies.
		deadline := time.Now().Add(20 * time.Second)
		for fileRecords(path) <= prev && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(round%8*3) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the writer was not killed: %v", round, err)
		}
		d, err := Open(path, Options{Machine: testMachine})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Problems) > 0 {
			t.Fatalf("round %d: the killed writer left a broken file: %v", round, d.ProblemLines())
		}
		perBatch := map[string]int{}
		for _, r := range d.Records {
			b, _, _ := strings.Cut(r.Variant, ",")
			perBatch[r.Kernel+"/"+b]++
		}
		for b, n := range perBatch {
			if n != size {
				t.Fatalf("round %d: batch %s has %d of %d records", round, b, n, size)
			}
		}
		if len(d.Records) <= prev {
			t.Fatalf("round %d: %d records, had %d", round, len(d.Records), prev)
		}
		prev = len(d.Records)
	}
	t.Logf("%d records after 24 kills", prev)
}

// fileRecords counts the lines of path, less the header (0 if absent).
func fileRecords(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return max(0, n-1)
}

// TestConcurrentWriters runs two writer processes on one database at
// once: every record of both is there.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	exe, _ := os.Executable()
	const batches, size = 40, 5
	var cmds []*exec.Cmd
	for _, name := range []string{"p", "q"} {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("MODELC_TEST_DB_WRITER=%s|%s|%d|%d", path, name, batches, size))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(path, Options{Machine: testMachine})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range d.Records {
		count[r.Kernel]++
	}
	if count["p"] != batches*size || count["q"] != batches*size || len(d.Problems) > 0 {
		t.Errorf("records by writer %v (want %d each), problems %v", count, batches*size, d.Problems)
	}
}
