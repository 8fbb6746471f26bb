package report

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelc/modelc/autotune/db"
)

// sample is a report as modelc bench fills it, with made-up numbers.
func sample(cpu string, scale float64) *Report {
	r := &Report{Model: "mlp", Date: "2026-01-02 03:04 UTC", Command: "modelc bench zoo:mlp --report out",
		Machine: Machine{Machine: db.Machine{CPU: cpu, OS: "linux", Arch: "amd64", Tier: "avx512", CPUs: 2, L1DKiB: 32, L2KiB: 1024, L3KiB: 32768},
			ClockGHz: 3.7, ISA: "avx512", FlopPerCycle: 32, PeakGFLOPS: 118, ReadGBs: 20, Go: "go1.26.8", GOAMD64: "v1", Modelc: "0.1.0-dev",
			TuneDB: "/cache/x.jsonl", TuneDBSHA256: "0123456789abcdef", TuneDBRecords: 80},
		Choices:   []Choice{{Kernel: "linear.avx512", Shape: "n512_k2048", Variant: "pw=32,mr=10", Gain: 1.14}},
		Fallbacks: []string{"layernorm (7 layers): no variant space yet"},
	}
	for _, b := range []int{1, 32} {
		for i, e := range []string{"modelc tuned", "modelc", "modelc pure Go", "ort"} {
			ns := scale * float64(b) * 1e5 * (1 + 0.3*float64(i))
			en := Engine{Engine: e, Batch: b, Threads: 1, MedianNs: ns, P10Ns: ns * .98, P90Ns: ns * 1.05, Runs: 50, CPUWall: 0.97}
			if e != "ort" {
				en.CPUMedianNs, en.CPUP10Ns, en.CPUP90Ns = ns*.96, ns*.95, ns
			}
			r.Engines = append(r.Engines, en)
		}
		r.Engines = append(r.Engines, Engine{Engine: "torch", Batch: b, Threads: 1, Missing: "PyTorch: apt-get install python3-torch"})
		for j, build := range []string{"tuned", "default", "pure Go"} {
			l := Layers{Build: build, Batch: b, Threads: 1}
			for k, name := range []string{"embed", "blocks.0.norm", "blocks.0.fc1", "blocks.0.fc2", "head"} {
				fl := float64(b) * 2e6 * float64(k+1)
				l.Steps = append(l.Steps, Step{Name: name, Ns: fl / (30 - 8*float64(j)) * scale, Flops: fl, Bytes: 4e6 / float64(k+1)})
			}
			r.Layers = append(r.Layers, l)
		}
	}
	return r
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files, err := Write(dir, sample("AMD EPYC", 1))
	if err != nil {
		t.Fatal(err)
	}
	want := "latency.svg layers_b1.svg layers_b32.svg report.html report.json report.md roofline.svg"
	if got := strings.Join(files, " "); got != want {
		t.Fatalf("files %s, want %s", got, want)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".svg") {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if err := wellFormed(data); err != nil || !strings.Contains(string(data), "<svg") {
			t.Errorf("%s: not an SVG document: %v", f, err)
		}
	}
	r, err := Read(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != Version || r.Machine.PeakGFLOPS != 118 || len(r.Layers) != 6 || r.Machine.TuneDBSHA256 != "0123456789abcdef" {
		t.Errorf("report.json read back: %+v", r.Machine)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	h := string(html)
	if err := wellFormedHTMLCharts(h); err != nil {
		t.Error(err)
	}
	for _, s := range []string{`<figure class="chart" id="roofline">`, `<figure class="chart" id="layers-b32">`, "AMD EPYC", "1.90×", "missing: PyTorch", "pw=32,mr=10", "118.0 GFLOP/s"} {
		if !strings.Contains(h, s) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	for _, s := range []string{"http://www.w3.org/2000/svg"} {
		if strings.Count(h, "src=") > 0 || strings.Count(h, "href=\"http") > 0 {
			t.Errorf("report.html refers to a file or address outside it (%s)", s)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if strings.Contains(string(md), "Other processes shared the machine") {
		t.Error("a quiet run is reported as disturbed")
	}
	for _, s := range []string{"![Roofline](roofline.svg)", "| modelc tuned | 1 | 1 | 100.0 µs |", "| 0.97 | 96.0 µs (95.0 µs – 100.0 µs) | 1.00× |", "## Steps at batch 32"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q:\n%s", s, md)
		}
	}
}

// wellFormed parses data as XML to the end.
func wellFormed(data []byte) error {
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// wellFormedHTMLCharts checks that every inline chart parses as XML.
func wellFormedHTMLCharts(h string) error {
	for _, part := range strings.Split(h, "<svg")[1:] {
		end := strings.Index(part, "</svg>")
		if err := wellFormed([]byte("<svg" + part[:end+len("</svg>")])); err != nil {
			return err
		}
	}
	return nil
}

// TestDisturbed: a run whose engines got little of their cores says so.
func TestDisturbed(t *testing.T) {
	r := sample("AMD EPYC", 1)
	for i := range r.Engines {
		r.Engines[i].CPUWall = 0.2
	}
	if d := r.disturbed(); !strings.Contains(d, "the engines got 20% of a core per thread") {
		t.Errorf("disturbed = %q", d)
	}
	dir := t.TempDir()
	if _, err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(html), `<p class="warn">Other processes shared the machine`) {
		t.Error("report.html does not warn")
	}
}

func TestReadVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(path, []byte(`{"version": 99}`), 0o644)
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("reading version 99: %v", err)
	}
}

func TestCompare(t *testing.T) {
	a, b := sample("AMD EPYC", 1), sample("Intel Xeon", 1.5)
	b.Machine.Tier = "avx2"
	md, svg, err := Compare([]*Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| AMD EPYC (linux/amd64) | avx512 | 118.0 | 20.0 | db 0123456789ab | 100.0 µs; 1.90× ort |", "| Intel Xeon (linux/amd64) | avx2 |", "150.0 µs"} {
		if !strings.Contains(md, s) {
			t.Errorf("comparison lacks %q:\n%s", s, md)
		}
	}
	if err := wellFormed(svg); err != nil {
		t.Error(err)
	}
}
