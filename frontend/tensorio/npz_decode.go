package tensorio

import (
	"bytes"

	"github.com/modelc/modelc/internal/limits"
)

// DecodeNpz decodes a .npz file held in b; see ReadNpz. Its members may
// inflate to limits.DataBytes together. Errors start with "npz: ", as
// DecodeNpy's start with "npy: ".
func DecodeNpz(b []byte) ([]Array, error) {
	arrays, err := decodeNpz(bytes.NewReader(b), int64(len(b)), limits.DataBytes)
	if err != nil {
		return nil, wrap(err, "", "npz")
	}
	return arrays, nil
}
