package runtime

import "embed"

// Sources holds this module's files: go.mod, go.sum and the sources of
// runtime and its subpackages (tests included; builders skip them).
// modelc carries them so that it can build generated packages offline
// (modelc run --engine generated, modelc bench, the test harness) without
// a module proxy or a checkout of modelc. An application that does not
// refer to Sources does not carry it: the linker drops unreferenced
// variables, and a test checks that an app's binary holds no runtime
// source.
//
//go:embed *
var Sources embed.FS
