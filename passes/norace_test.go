//go:build !race

package passes

// RaceEnabled is true under the race detector (see race_test.go).
const RaceEnabled = false
