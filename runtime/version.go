package runtime

// APIVersion is the version of the contract between generated packages and
// this package: the names, signatures and behaviour that code written by
// modelc build relies on. It changes only when that contract changes
// incompatibly; additions keep it.
const APIVersion = 1

// Version is the modelc release this runtime ships with. Generated file
// headers record the modelc version that wrote them; this is the one they
// run against.
const Version = "0.1.0-dev"

// ModelcAPIv1 exists so that a version mismatch is a compile error, not a
// crash or a silent misbehaviour at run time. Every generated package
// contains
//
//	var _ = runtime.ModelcAPIv1 // this package needs modelc runtime API v1 (modelc >= 0.1)
//
// There is one such constant per API version this runtime supports. A
// package generated for API v2 and built against a runtime that predates
// it (or one that has dropped v1 support, for a v1 package) fails with
//
//	undefined: runtime.ModelcAPIv2
//
// pointing at that line, whose comment names the modelc release to use.
// A constant costs nothing in the binary, and the check needs no init code.
// When APIVersion becomes 2, ModelcAPIv2 is added and ModelcAPIv1 stays for
// as long as v1 packages still work unchanged.
const ModelcAPIv1 = true
