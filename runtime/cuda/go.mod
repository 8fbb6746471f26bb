module github.com/modelc/modelc/runtime/cuda

go 1.26.0

require (
	github.com/ebitengine/purego v0.11.3
	github.com/modelc/modelc/runtime v0.0.0
)

require golang.org/x/sys v0.50.0 // indirect

// The runtime (the device contract and executor) is this checkout's copy.
replace github.com/modelc/modelc/runtime => ../
