// Package autotune measures the variants of a model's kernels on the
// machine that will run them and keeps the fastest in the tuning
// database (autotune/db), which codegen reads as a plain map
// (codegen.Input.Tuning, from Choices).
//
// A Kernel is one kernel family at one static shape and tier: its
// variant Space (axes of parameters, a validity rule), its Default (what
// codegen picks untuned) and the Program that holds some of its variants
// in a harness (harness_main.go): a program built for the target, which
// checks each variant against its pure-Go twin by design.md's kernel rule
// and times those that match, interleaved. A Runner builds and runs
// harnesses on a Target (this machine, or one reached through a command
// prefix such as "ssh HOST", or under qemu-user), recording a crash, a
// hang or wrong results as a failed variant with the reason. A Strategy
// proposes what to measure next (Exhaustive for small spaces, the
// model-guided ModelSearch for larger ones), and Tune drives them over a
// model's Tasks within a time budget, writing the database after every
// batch so an interruption keeps what was measured and a rerun resumes.
//
// autotune/report writes modelc bench's per-hardware report; K8sJobs
// writes the Kubernetes Jobs that tune a fleet. docs/autotune.md is the
// user's guide.
package autotune
