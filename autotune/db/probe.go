package db

// This file uses the standard library only: the autotuner's harness, a
// program built for the target machine, compiles it in too (with its
// package clause changed) so that a remote machine describes itself with
// the same code as the local one.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// probeCPUModel returns the CPU's model name as the OS reports it, or ""
// where it cannot tell.
func probeCPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	// x86 says "model name"; arm64 kernels say nothing of the kind, but
	// some print "Hardware" or "CPU part".
	var part string
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name", "Hardware", "cpu model":
			if v != "" {
				return v
			}
		case "CPU part":
			if part == "" {
				part = "CPU part " + v
			}
		}
	}
	return part
}

// probeCaches returns the sizes in KiB of CPU 0's level-1 data, level-2
// and level-3 caches (Linux sysfs), 0 for those it cannot read.
func probeCaches() (l1d, l2, l3 int) {
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu0/cache/index*")
	for _, d := range dirs {
		read := func(name string) string {
			b, _ := os.ReadFile(filepath.Join(d, name))
			return strings.TrimSpace(string(b))
		}
		size := parseCacheSize(read("size"))
		switch read("level") + " " + read("type") {
		case "1 Data":
			l1d = size
		case "2 Unified", "2 Data":
			l2 = size
		case "3 Unified", "3 Data":
			l3 = size
		}
	}
	return l1d, l2, l3
}

// parseCacheSize reads sysfs's "32K", "1024K", "32M" as KiB.
func parseCacheSize(s string) int {
	mul := 1
	switch {
	case strings.HasSuffix(s, "K"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		s, mul = s[:len(s)-1], 1024
	case strings.HasSuffix(s, "G"):
		s, mul = s[:len(s)-1], 1024*1024
	default:
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0
		}
		return n / 1024 // plain bytes
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n * mul
}
