package runtime

// Step describes one step of a generated package's schedule for
// profiling tools (modelc bench --layers): its label, and its arithmetic
// and memory traffic as affine functions of the batch n, from which a
// tool derives achieved GFLOP/s, arithmetic intensity and the fraction of
// the roofline.
type Step struct {
	Name string
	// FlopsA·n + FlopsB floating-point operations (a multiply-add is two).
	FlopsA, FlopsB int64
	// BytesA·n + BytesB bytes the step reads and writes at least once
	// (inputs, weights and outputs).
	BytesA, BytesB int64
}

// At returns the step's operations and bytes at batch n.
func (s Step) At(n int) (flops, bytes float64) {
	return float64(s.FlopsA*int64(n) + s.FlopsB), float64(s.BytesA*int64(n) + s.BytesB)
}
