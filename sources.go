// Package modelc carries files the modelc binary needs at run time: the
// peer scripts of modelc bench. (The runtime's sources, with which modelc
// builds generated packages offline, are runtime.Sources: the runtime is a
// module of its own.)
package modelc

import "embed"

// PeerSources holds bench/peers: the scripts modelc bench runs to time
// PyTorch and ONNX Runtime on the zoo's architectures.
//
//go:embed bench/peers/*.py bench/peers/*.js bench/peers/package.json bench/peers/package-lock.json
var PeerSources embed.FS
