package ptx

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// Resources is what ptxas -v reports for one kernel.
type Resources struct {
	Registers   int
	Shared      int // static shared memory, bytes
	Stack       int // stack frame, bytes
	SpillStores int // bytes
	SpillLoads  int // bytes
}

// ErrNoPtxas is returned by FindPtxas when no ptxas is available.
var ErrNoPtxas = errors.New("ptxas not found (run .ci/ptxas.sh, or set MODELC_PTXAS)")

// FindPtxas locates NVIDIA's PTX assembler: $MODELC_PTXAS, then the cache
// .ci/ptxas.sh fills ($MODELC_PTXAS_CACHE, $XDG_CACHE_HOME/modelc/ptxas or
// ~/.cache/modelc/ptxas), then ptxas on PATH.
func FindPtxas() (string, error) {
	if p := os.Getenv("MODELC_PTXAS"); p != "" {
		return p, nil
	}
	cache := os.Getenv("MODELC_PTXAS_CACHE")
	if cache == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "modelc", "ptxas")
		}
	}
	if cache != "" {
		p := filepath.Join(cache, "ptxas")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("ptxas"); err == nil {
		return p, nil
	}
	return "", ErrNoPtxas
}

var (
	reFunc  = regexp.MustCompile(`Compiling entry function '([^']+)'`)
	reUsed  = regexp.MustCompile(`Used (\d+) registers(?:, (\d+) bytes smem)?`)
	reStack = regexp.MustCompile(`(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads`)
)

// Assemble runs ptxas -v on a module for target (sm_80, sm_90) and returns
// each kernel's resources; an error carries ptxas's messages.
func Assemble(ptxas string, module []byte, target string) (map[string]Resources, error) {
	dir, err := os.MkdirTemp("", "modelc-ptxas-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "m.ptx")
	if err := os.WriteFile(src, module, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(ptxas, "-v", "-arch="+target, "-o", filepath.Join(dir, "m.cubin"), src)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ptxas -arch=%s: %v\n%s", target, err, out.String())
	}
	return parseVerbose(out.String()), nil
}

// parseVerbose reads ptxas -v's report: per entry function a "Compiling
// entry function" line, then its stack/spill and register/smem lines.
func parseVerbose(s string) map[string]Resources {
	res := map[string]Resources{}
	cur := ""
	for _, line := range bytes.Split([]byte(s), []byte("\n")) {
		if m := reFunc.FindSubmatch(line); m != nil {
			cur = string(m[1])
			res[cur] = Resources{}
			continue
		}
		if cur == "" {
			continue
		}
		r := res[cur]
		if m := reStack.FindSubmatch(line); m != nil {
			r.Stack, r.SpillStores, r.SpillLoads = atoi(m[1]), atoi(m[2]), atoi(m[3])
		}
		if m := reUsed.FindSubmatch(line); m != nil {
			r.Registers = atoi(m[1])
			if len(m[2]) > 0 {
				r.Shared = atoi(m[2])
			}
		}
		res[cur] = r
	}
	return res
}

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}
