package report

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium returns Debian's headless browser, skipping the test when it
// is missing (a failure with CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing: apt-get install chromium (CI must check the report in a browser)")
	}
	t.Skip("chromium is missing (apt-get install chromium); CI=true makes this a failure")
	return ""
}

// checkPage is a test page that loads report.html in a frame and, once
// it has rendered, lists each chart: its figure's id, its SVG's rendered
// size and the number of drawn elements in it.
const checkPage = `<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="f" src="report.html" width="1000" height="800"></iframe>
<script>
document.getElementById("f").onload = function () {
  var doc = this.contentDocument, out = [];
  doc.querySelectorAll("figure.chart").forEach(function (fig) {
    var svg = fig.querySelector("svg"), r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    var drawn = svg ? svg.querySelectorAll("path, text, rect, circle, polygon, polyline").length : 0;
    out.push(fig.id + ":" + Math.round(r.width) + "x" + Math.round(r.height) + ":" + drawn);
  });
  document.getElementById("result").textContent = "charts " + out.join(" ");
};
</script></body></html>`

// TestReportInChromium opens report.html in headless Chromium, with no
// network, and finds every chart rendered: a figure with an SVG of
// non-zero size with drawing in it.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	if _, err := Write(dir, sample("AMD EPYC", 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "check.html"), []byte(checkPage), 0o644); err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(t.TempDir(), "profile")
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+profile,
		"--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom", "file://"+filepath.Join(dir, "check.html"))
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("chromium did not finish in 2 minutes")
	}
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`<pre id="result">charts ([^<]*)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the check page did not run:\n%s", out)
	}
	charts := strings.Fields(string(m[1]))
	want := []string{"roofline", "latency", "layers-b1", "layers-b32"}
	if len(charts) != len(want) {
		t.Fatalf("charts found: %q, want %v", charts, want)
	}
	for i, c := range charts {
		f := strings.Split(c, ":")
		var w, h, n int
		if _, err := fmtSscan(f[1]+" "+f[2], &w, &h, &n); err != nil || f[0] != want[i] || w < 300 || h < 150 || n < 20 {
			t.Errorf("chart %d: %s (want %s rendered with a size and drawing)", i, c, want[i])
		}
	}
	t.Logf("rendered: %s", m[1])
}

// fmtSscan reads "WxH N".
func fmtSscan(s string, w, h, n *int) (int, error) {
	return fmt.Sscanf(s, "%dx%d %d", w, h, n)
}
