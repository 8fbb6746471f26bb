package tensorio

import "bytes"

// DecodeNpz decodes a .npz file held in b; see ReadNpz. Errors start with
// "npz: ", as DecodeNpy's start with "npy: ".
func DecodeNpz(b []byte) ([]Array, error) {
	arrays, err := decodeNpz(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, wrap(err, "", "npz")
	}
	return arrays, nil
}
