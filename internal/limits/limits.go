// Package limits holds the resource bounds modelc enforces on what it is
// given. A model file is often someone else's file, and a few hundred
// bytes can ask for 10⁸ layers or a 40 GB tensor; every bound here is
// checked before the work or allocation it guards, and exceeding one is
// an error that names the file, the line (or ONNX node) and the estimate,
// never a hang, a crash or an out-of-memory kill. docs/hostile-inputs.md
// lists what each malformed-input class gets.
//
// The bounds are far above what real models need (the largest zoo model
// has a few hundred layers and 40 MB of weights); a model that needs more
// is a reason to raise them, in one place.
package limits

import (
	"fmt"
	"math"
)

const (
	// YAMLBytes bounds a model.yaml file.
	YAMLBytes = 16 << 20
	// Nesting bounds how deep YAML collections nest (flow or block).
	Nesting = 64
	// Layers bounds the layers of a model after blocks and repeats are
	// expanded, and the nodes of an ONNX graph.
	Layers = 50_000
	// TensorElems bounds the elements of one tensor: a parameter or
	// constant, a graph input, or an intermediate value per sample (a
	// batch-dependent tensor counted at batch 1). 2²⁸ float32s are 1 GiB.
	TensorElems = 1 << 28
	// ConstBytes bounds a model's constants (its weights) together, as
	// stored in weights.bin (4 bytes per float element).
	ConstBytes = 2 << 30
	// ArenaBytes bounds the intermediate memory of a generated package at
	// its max batch (the memory plan's lower bound).
	ArenaBytes = 16 << 30
	// Batch bounds --batch and --max-batch.
	Batch = 1 << 20
	// DataBytes bounds a data file's arrays (.npy, .npz, after
	// decompression): test vectors, calibration data, modelc run inputs.
	DataBytes = 1 << 30
	// TestBytes bounds the test vectors a generated package carries in
	// testdata/vectors.bin.
	TestBytes = 64 << 20
)

// Elems returns the number of elements of a tensor of shape dims, and
// whether it is at most max; a negative dimension or an overflowing
// product is never within the bound (the count is then -1).
func Elems(dims []int, max int) (int, bool) {
	zero := false
	for _, d := range dims {
		if d < 0 {
			return -1, false
		}
		zero = zero || d == 0
	}
	if zero {
		return 0, true
	}
	n := 1
	for _, d := range dims {
		if n > math.MaxInt/d {
			return -1, false
		}
		n *= d
	}
	return n, n <= max
}

// Size formats a byte count for messages: "37.3 GiB".
func Size(n float64) string {
	if n < 1024 {
		return fmt.Sprintf("%.0f bytes", n)
	}
	suffix := ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"} {
		n /= 1024
		suffix = s
		if n < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", n, suffix)
}

// Count formats an element count, exactly when small and with an
// exponent when not ("1e+10").
func Count(n float64) string {
	if n < 1e7 {
		return fmt.Sprintf("%.0f", n)
	}
	return fmt.Sprintf("%.3g", n)
}
