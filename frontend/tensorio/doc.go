// Package tensorio reads and writes the tensor file formats a model compiler
// is handed: safetensors, NumPy .npy and NumPy .npz.
//
// Tensor files come from outside the compiler – downloaded checkpoints,
// exports from other tools – so every decoder treats its input as hostile.
// Malformed input yields an error that names the file (when there is one)
// and says what is wrong; it never panics, and no allocation is sized by a
// header field until that field has been checked against the bytes that are
// actually there. A header that claims a terabyte tensor in a 100-byte file is
// rejected before anything is allocated, and where the input size is unknown
// (an io.Reader of unknown length, a deflated zip member) buffers grow only as
// data really arrives.
//
// All formats are represented by Array: a name, a DType, a row-major (C order)
// shape and the raw little-endian element bytes. Keeping the raw bytes, rather
// than converting to float32 on load, lets weights pass through the compiler
// bit-exactly (F16/BF16 stay 2 bytes per element); Array.Float32 and
// Array.Int64 convert when a caller needs numbers.
//
// Writers are atomic: they write a temporary file in the destination
// directory and rename it into place, so a crash or a full disk never leaves a
// half-written weights file under the final name. Writers are deterministic:
// tensors are stored sorted by name, so the same arrays always give the same
// bytes, which keeps build caches and golden tests stable.
//
// NumPy arrays stored in Fortran order (fortran_order: True) are transposed
// into C order on read, since Array has no notion of strides; writers always
// write C order.
package tensorio
