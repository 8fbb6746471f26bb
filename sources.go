// Package modelc carries files the modelc binary needs at run time: the
// runtime's sources, so it can build generated packages offline (modelc
// run --engine generated, modelc bench) without a module proxy or a
// checkout of modelc, and the peer scripts of modelc bench.
package modelc

import "embed"

// RuntimeSources holds runtime/*.go and runtime/numerics/*.go (test files
// included; callers skip them) at their paths in the module.
//
//go:embed runtime/*.go runtime/numerics/*.go
var RuntimeSources embed.FS

// PeerSources holds bench/peers: the scripts modelc bench runs to time
// PyTorch and ONNX Runtime on the zoo's architectures.
//
//go:embed bench/peers/*.py bench/peers/*.js bench/peers/package.json bench/peers/package-lock.json
var PeerSources embed.FS

// GoMod and GoSum are modelc's module files: the driver modelc builds
// offline takes the runtime's requirements (golang.org/x/sys) and their
// checksums from them.
//
//go:embed go.mod
var GoMod []byte

//go:embed go.sum
var GoSum []byte
