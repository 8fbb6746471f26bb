//go:build race

package passes

// RaceEnabled is true under the race detector (go test -race), whose
// run (make test) checks the pipeline's concurrency on the small tests:
// tests that evaluate whole trained models skip there.
const RaceEnabled = true
