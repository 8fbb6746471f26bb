package codegen

import "github.com/modelc/modelc/codegen/isa"

// SetTargets replaces the targets every package is generated for, for a
// test, and returns the function that restores them.
func SetTargets(ts ...isa.Target) (restore func()) {
	saved := targets
	targets = ts
	return func() { targets = saved }
}
