// Package modelc carries the sources of modelc's runtime, so that the
// modelc binary can build generated packages offline (modelc run --engine
// generated) without a module proxy or a checkout of modelc.
package modelc

import "embed"

// RuntimeSources holds runtime/*.go (test files included; callers skip
// them) at their paths in the module.
//
//go:embed runtime/*.go
var RuntimeSources embed.FS
