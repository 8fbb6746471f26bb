//go:build unix

package runtime

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWeightsFileFIFO: a FIFO given as a weights file is refused at once
// (os.Open used to wait for a writer forever).
func TestWeightsFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "weights.bin")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := OpenWeights(fifo, testCode)
		done <- err
	}()
	select {
	case err := <-done:
		isTrue(t, errors.Is(err, ErrWeightsFile), "got %v", err)
	case <-time.After(time.Minute):
		t.Fatal("OpenWeights waits on a FIFO")
	}
}
