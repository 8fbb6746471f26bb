// Package archtest keeps design.md's dependency direction true: each
// package of modelc may import only the packages of ours listed for it.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/modelc/modelc"

// allowed maps a package (or folder prefix ending in "/") to the packages
// of ours it may import, directly or not. Test files are not counted.
var allowed = map[string][]string{
	"ir":                {"runtime/numerics", "runtime/quant"},
	"frontend/tensorio": {"internal/limits"},
	"frontend":          {"ir", "frontend/tensorio", "runtime/numerics", "runtime/quant", "internal/gosafe", "internal/limits"},
	"passes":            {"ir", "internal/match", "runtime/numerics", "runtime/quant", "calib"},
	// Calibration data, metrics and budgets the lossy passes share; the
	// compile driver reads model.yaml's calibration: into it.
	"calib":    {"ir", "runtime/numerics", "runtime/quant"},
	"codegen":  {"ir", "runtime/", "runtime", "codegen/", "internal/gosafe"},
	"runtime":  {"runtime/"},
	"runtime/": {"runtime/"},
	"autotune": {"ir", "codegen", "runtime/", "runtime"},
	"zoo":      {},
	// The accuracy twins' reader: loads models through the frontend.
	"zoo/twins": {"frontend", "frontend/", "ir", "runtime/numerics", "runtime/quant", "internal/gosafe", "internal/limits"},
	// The compile driver: frontend → passes → codegen.
	"compile":        {"ir", "frontend", "frontend/", "passes", "calib", "codegen", "codegen/", "internal/match", "internal/gosafe", "internal/limits", "runtime", "runtime/"},
	"internal/match": {},
	// Builds and runs generated packages in their own module (the CLI's
	// driver, the test suites).
	"internal/harness":  {"ir", "codegen", "codegen/", "internal/gosafe", "runtime", "runtime/", "internal/qemu"},
	"internal/qemu":     {}, // qemu-aarch64-static for the tests
	"internal/peak":     {},
	"internal/onnxdata": {}, // the ONNX conformance archive, read by tests only
	// The PyTorch per-op fixtures' reader (ir's and codegen's tests).
	"internal/fixtures": {"ir", "frontend/tensorio", "internal/match", "runtime/numerics", "runtime/quant", "internal/limits"},
	// Leaves: quoting user strings for generated code; resource bounds.
	"internal/gosafe":   {},
	"internal/limits":   {},
	"internal/archtest": {},
	// Generated packages (make demo, tests) import only the runtime.
	"out/":       {"runtime", "runtime/"},
	"":           {},
	"cmd/modelc": {"*"},
	// make zoo-table's tool.
	"cmd/zootable": {"*"},
}

func rule(pkg string) ([]string, bool) {
	if r, ok := allowed[pkg]; ok {
		return r, true
	}
	best := ""
	for k := range allowed {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(pkg, k) && len(k) > len(best) {
			best = k
		}
		if !strings.HasSuffix(k, "/") && strings.HasPrefix(pkg, k+"/") && len(k) > len(best) {
			best = k
		}
	}
	r, ok := allowed[best]
	return r, ok
}

func permits(list []string, dep string) bool {
	for _, a := range list {
		if a == "*" || a == dep || (strings.HasSuffix(a, "/") && strings.HasPrefix(dep, a)) {
			return true
		}
	}
	return false
}

func TestDependencyDirection(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		list, ok := rule(pkg)
		if !ok {
			t.Errorf("package %s has no dependency rule: add it to allowed (see design.md's layout table)", pkg)
			continue
		}
		checked++
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(d, module+"/")
			if dep != pkg && !strings.HasPrefix(dep, pkg+"/") && !permits(list, dep) {
				t.Errorf("%s imports %s, which design.md's dependency direction forbids", pkg, dep)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages", checked)
	}
}
