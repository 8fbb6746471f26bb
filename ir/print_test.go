package ir

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPrintParseGolden parses each testdata/ir/*.ir, prints it, compares
// with the .golden file, and checks the golden text is a fixed point of
// parse → print.
func TestPrintParseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/ir/*.ir")
	if len(files) == 0 {
		t.Fatal("no testdata/ir/*.ir files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Parse(f, src)
			if err != nil {
				t.Fatal(err)
			}
			got := g.String()
			golden := strings.TrimSuffix(f, ".ir") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./ir -run Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("printed IR differs from %s:\n%s", golden, got)
			}
			g2, err := Parse(golden, want)
			if err != nil {
				t.Fatalf("golden does not parse: %v", err)
			}
			if again := g2.String(); again != got {
				t.Errorf("parse → print is not a fixed point:\n%s", again)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"", "t.ir:1:1: expected \"graph\", found end of input"},
		{"graph g {\n  input %x: f33[2]\n}", "t.ir:2:13: unknown dtype \"f33\""},
		{"graph g {\n  %y = relu (%x): f32[2]\n}", "t.ir:2:14: value %x is not defined before use"},
		{"graph g {\n  input %x: f32[2]\n  %y = frob (%x): f32[2]\n}", "t.ir:3:8: unknown op \"frob\""},
		{"graph g {\n  input %x: f32[2]\n  %y = softmax (%x) {axes=1}: f32[2]\n  output %y\n}", "t.ir:3:22: softmax: unknown attribute \"axes\" (want one of axis)"},
		{"graph g {\n  input %x: f32[2]\n  %y = relu (%x): f32[3]\n  output %y\n}", "node 0 (relu): result %y has type f32[3], its shape rule gives f32[2]"},
		{"graph g {\n  input %x: f32[2]\n  %y = relu (%x): f32[2]\n}", "graph has no outputs"},
		{"graph g {\n  const %c: f32[2] = dense<[1]>\n}", "t.ir:2:28: dense data has 1 elements, type f32[2] needs 2"},
		{"graph g {\n  input %x: f32[2N+]\n}", "t.ir:2:17: bad dimension \"2N+\""},
		{"graph g {\n  input %x: f32[N]\n  %y = reshape (%x) {shape=[2]}: f32[2]\n  output %y\n}", "cannot reshape [N] to [2]: element counts differ"},
		{"graph g {\n  input %x: f32[N,4]\n  input %w: f32[3,5]\n  %y = linear (%x, %w): f32[N,3]\n  output %y\n}", "input features 4 do not match weight [3,5]"},
		{"graph g { input %x: f32[2] %x = relu(%x): f32[2] }", "value %x defined twice"},
		{`graph g { input %"x: f32[2] }`, "expected a name after \"%\""},
		{"graph g {\n  input %x: f32[N,6]\n  const %a: f32[2,2,2] = splat<1>\n  const %s: f32[2,2,2] = splat<1>\n  %y = phm_linear (%x, %a, %s): f32[N,4]\n  output %y\n}", "input [N,6]: want [..., 4] (n1·n2 = 2·2)"},
		{"graph g {\n  input %x: f32[N,4]\n  const %a: f32[2,2,2] = splat<1>\n  const %s: f32[3,2,2] = splat<1>\n  %y = phm_linear (%x, %a, %s): f32[N,4]\n  output %y\n}", "different numbers of terms"},
		{"graph g {\n  input %x: f32[N,4]\n  const %a: f32[2,2,2] = splat<1>\n  const %s: f32[2,2,2] = splat<1>\n  %y = phm_linear (%x, %a, %s) {scaled=true}: f32[N,4]\n  output %y\n}", "scaled=true needs a scale input"},
		{"graph g {\n  input %x: f32[N,6,5,5]\n  const %a: f32[2,2,2] = splat<1>\n  const %s: f32[2,2,2,3,3] = splat<1>\n  %y = phc_conv2d (%x, %a, %s): f32[N,4,3,3]\n  output %y\n}", "factors want n1·C' = 2·2 = 4"},
	}
	for _, c := range cases {
		_, err := Parse("t.ir", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/ir/*.ir")
	for _, file := range files {
		src, _ := os.ReadFile(file)
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := Parse("fuzz.ir", src)
		if err != nil {
			return
		}
		var b1 bytes.Buffer
		PrintOptions{MaxData: -1}.Fprint(&b1, g)
		g2, err := Parse("again.ir", b1.Bytes())
		if err != nil {
			t.Fatalf("printed graph does not parse: %v\n%s", err, b1.String())
		}
		var b2 bytes.Buffer
		PrintOptions{MaxData: -1}.Fprint(&b2, g2)
		if b1.String() != b2.String() {
			t.Fatalf("print → parse → print changed the text:\n%s\n---\n%s", b1.String(), b2.String())
		}
	})
}
