package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sharedOrAbsolute is what a file of the repository may not name: the
// sibling folder the project's reference material lives in on the
// development machines, or an absolute path of any machine's home or
// work folder. The repository stands alone (a plain clone builds and
// passes make test).
var sharedOrAbsolute = regexp.MustCompile("\\.\\./shared\\b|(^|[\\s\"'`(=:>])/(work|home|root|Users)/[A-Za-z0-9._-]")

// TestStandalone reads every tracked text file of the repository and
// fails on a reference to the sibling shared folder or to an absolute
// path of a machine.
func TestStandalone(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git rev-parse: %v (CI runs in a git checkout)", err)
		}
		t.Skipf("not a git checkout: %v", err)
	}
	top := strings.TrimSpace(string(root))
	out, err := exec.Command("git", "-C", top, "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(top, f))
		if err != nil {
			continue // a file deleted in the work tree
		}
		if strings.IndexByte(string(b[:min(len(b), 8000)]), 0) >= 0 {
			continue // binary
		}
		n++
		for i, line := range strings.Split(string(b), "\n") {
			if m := sharedOrAbsolute.FindString(line); m != "" {
				t.Errorf("%s:%d: names %q: the repository must stand alone (no sibling shared folder, no machine's absolute path)", f, i+1, strings.TrimSpace(m))
			}
		}
	}
	if n < 100 {
		t.Fatalf("read only %d text files: the walk is broken", n)
	}
}
