package tensorio

import "bytes"

// DecodeNpz decodes .npz bytes (see ReadNpz).
func DecodeNpz(b []byte) ([]Array, error) {
	return decodeNpz(bytes.NewReader(b), int64(len(b)))
}
