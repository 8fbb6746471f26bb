package autotune

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelc/modelc/autotune/db"
)

// need returns the path of a program the test cannot run without,
// skipping with the reason when it is missing (a failure with CI=true).
func need(t *testing.T, prog, install string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if _, err2 := os.Stat(prog); err2 == nil {
			return prog
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: %s (CI must run this test)", prog, install)
		}
		t.Skipf("%s is missing (%s); CI=true makes this a failure", prog, install)
	}
	return p
}

// startSSHD runs Debian's OpenSSH server on a free loopback port, for
// this user, with a fresh host key and a client key it authorises, and
// returns the command prefix that runs a command line there.
func startSSHD(t *testing.T) []string {
	t.Helper()
	sshd := need(t, "/usr/sbin/sshd", "apt-get install openssh-server")
	ssh := need(t, "ssh", "apt-get install openssh-client")
	keygen := need(t, "ssh-keygen", "apt-get install openssh-client")
	dir := t.TempDir()
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	config := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
AuthorizedKeysFile %s
PidFile none
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
`, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"))
	cfg := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // privilege separation, as root
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case log <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	prefix := []string{ssh, "-p", fmt.Sprint(port), "-i", filepath.Join(dir, "client"), "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "127.0.0.1"}
	// Wait until it answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command(prefix[0], append(prefix[1:], "echo ready")...).CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) == "ready" {
			return prefix
		}
		if time.Now().After(deadline) {
			var lines []string
			for len(log) > 0 {
				lines = append(lines, <-log)
			}
			t.Fatalf("sshd does not answer: %v %s\nsshd: %s", err, out, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRunnerSSH tunes through a real OpenSSH server on loopback: the
// harness is copied there and run there, the target describes itself,
// good variants are timed and bad ones recorded as failed.
func TestRunnerSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd and builds harnesses")
	}
	prefix := startSSHD(t)
	remoteDir := t.TempDir()
	r := &Runner{Target: &Target{Prefix: prefix, Dir: remoteDir}, Timeout: 3 * time.Second, Rounds: 2, PerRound: 2, Sample: time.Millisecond}
	defer r.Close()
	ctx := context.Background()
	p, err := r.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Machine.ID() != db.ThisMachine().ID() || r.Target.GOOS != "linux" {
		t.Errorf("the target over ssh: %+v (%s/%s)", p.Machine, r.Target.GOOS, r.Target.GOARCH)
	}
	recs, err := r.Measure(ctx, faultKernel{}, 1, []Point{{modeOK}, {modeWrong}, {modeHang}, {modeCrash}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "wrong results", "hung", "crashed"}
	for i, rec := range recs {
		if rec.Runner != strings.Join(prefix, " ") {
			t.Errorf("runner %q", rec.Runner)
		}
		if (want[i] == "") != (rec.Status == db.StatusOK) || !strings.HasPrefix(rec.Reason, want[i]) {
			t.Errorf("%s over ssh: %s %q, want %q", rec.Variant, rec.Status, rec.Reason, want[i])
		}
	}
	// A hung variant's harness does not outlive the test on the target.
	time.Sleep(300 * time.Millisecond)
	if out, _ := exec.Command("pgrep", "-f", remoteDir+"/harness-").Output(); len(out) > 0 {
		t.Errorf("harness processes left on the target: %s", out)
	}
	l := Linear{N: 40, K: 33, Tier: KernelTier(p.Machine.Tier)}
	recs, err = r.Measure(ctx, l, 3, []Point{l.Default()})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Status != db.StatusOK {
		t.Errorf("the default linear variant over ssh: %s", recs[0].Reason)
	}
	r.Close()
	if left, _ := filepath.Glob(filepath.Join(remoteDir, "harness-*")); len(left) > 0 {
		t.Errorf("harnesses left on the target: %v", left)
	}
}

// TestRunnerEmulated cross-builds the harness for linux/arm64 and runs it
// under qemu-user: the variants are checked there, and every record is
// flagged emulated, so none is ever chosen for speed.
func TestRunnerEmulated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds harnesses")
	}
	need(t, "qemu-aarch64-static", "apt-get install qemu-user-static")
	r := &Runner{Target: &Target{GOOS: "linux", GOARCH: "arm64"}, Timeout: 20 * time.Second, Rounds: 1, PerRound: 1, Sample: time.Millisecond}
	defer r.Close()
	p, err := r.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Emulated || p.Machine.Arch != "arm64" || p.Machine.Tier != "generic" && p.Machine.Tier != "neon" && p.Machine.Tier != "dotprod" {
		t.Fatalf("probe under qemu: %+v", p)
	}
	l := Linear{N: 20, K: 9, Tier: "generic"}
	recs, err := r.Measure(context.Background(), l, 2, []Point{l.Default(), {2, 4, 0, 2}})
	if err != nil {
		t.Fatal(err)
	}
	// The arm64 target's NEON tiles, checked against their twin there.
	neon := Linear{N: 40, K: 9, Tier: "neon"}
	nrecs, err := r.Measure(context.Background(), neon, 2, []Point{neon.Default(), {16, 2, 3}, {32, 4, 1}})
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, nrecs...)
	path := filepath.Join(t.TempDir(), "arm.jsonl")
	d, err := db.Update(path, p.Machine, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range d.Records {
		if rec.Status != db.StatusOK || !rec.Emulated || rec.Runner != "qemu-aarch64-static" {
			t.Errorf("%s: %s %q emulated %v runner %q", rec.Variant, rec.Status, rec.Reason, rec.Emulated, rec.Runner)
		}
	}
	if best, ok := d.Best(l.Family(), l.Shape(), "2-8"); ok {
		t.Errorf("an emulated record was chosen for speed: %+v", best)
	}
}
