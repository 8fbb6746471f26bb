package runtime

import (
	"errors"
	"fmt"
)

// The errors generated code returns for arguments a caller can get wrong.
// A generated Model never panics on a wrong input size: it returns one of
// these, wrapped with the tensor's name and the sizes involved, so callers
// can test for them with errors.Is and still print a useful message.
var (
	// ErrInputSize reports an input whose length does not fit the model:
	// not a whole number of samples, or empty.
	ErrInputSize = errors.New("wrong input size")

	// ErrOutputSize reports a caller-owned output buffer (Run) whose length
	// does not match what the model writes for the given batch.
	ErrOutputSize = errors.New("wrong output size")

	// ErrBatch reports a batch larger than the maximum the model was created
	// with (WithMaxBatch); its arena is sized for that maximum.
	ErrBatch = errors.New("batch larger than the model's max batch")

	// ErrNilArgument reports a nil *Inputs or *Outputs passed to Run.
	ErrNilArgument = errors.New("nil argument")

	// ErrMaxBatch reports a max batch (WithMaxBatch) New cannot honour:
	// below 1, or so large that the sizes at that batch overflow an int.
	ErrMaxBatch = errors.New("invalid max batch")

	// ErrArena reports an arena New cannot have: larger than the
	// machine's memory, or refused by the allocator.
	ErrArena = errors.New("arena too large")
)

// NilArgumentError returns ErrNilArgument naming the argument (e.g.
// "Run: out").
func NilArgumentError(what string) error {
	return fmt.Errorf("%s: %w", what, ErrNilArgument)
}

// InputSizeError returns ErrInputSize wrapped with the input's name and its
// actual and expected number of elements.
func InputSizeError(name string, got, want int) error {
	return fmt.Errorf("input %q: %w: got %d elements, want %d", name, ErrInputSize, got, want)
}

// OutputSizeError returns ErrOutputSize wrapped with the output's name and
// its actual and expected number of elements.
func OutputSizeError(name string, got, want int) error {
	return fmt.Errorf("output %q: %w: got %d elements, want %d", name, ErrOutputSize, got, want)
}

// BatchOf returns the batch an input of elems elements holds, given the
// elements per sample, checking it against maxBatch. It is how generated
// Predict and Run derive the batch from len(input): a length that is not a
// positive multiple of perSample is an ErrInputSize, more than maxBatch
// samples an ErrBatch. perSample must be positive.
func BatchOf(name string, elems, perSample, maxBatch int) (int, error) {
	if elems <= 0 || elems%perSample != 0 {
		return 0, fmt.Errorf("input %q: %w: got %d elements, want a positive multiple of %d (one sample)",
			name, ErrInputSize, elems, perSample)
	}
	n := elems / perSample
	if n > maxBatch {
		return 0, fmt.Errorf("input %q: %w: got batch %d, max %d (raise it with WithMaxBatch)",
			name, ErrBatch, n, maxBatch)
	}
	return n, nil
}
