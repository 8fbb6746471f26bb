module github.com/modelc/modelc

go 1.26.8

require (
	github.com/dave/jennifer v1.7.1
	github.com/goccy/go-yaml v1.19.2
	github.com/modelc/modelc/runtime v0.0.0
	github.com/modelc/modelc/runtime/cuda v0.0.0
	github.com/schollz/progressbar/v3 v3.19.1
	github.com/stretchr/testify v1.12.1
	github.com/ulikunitz/xz v0.5.17
	golang.org/x/sys v0.50.0
	gonum.org/v1/gonum v0.17.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/ebitengine/purego v0.11.3 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/term v0.44.0 // indirect
)

// The runtime is a module of its own (its only requirement is
// golang.org/x/sys), so that an application importing a generated package
// pulls in nothing of the compiler's dependencies; here it is this
// checkout's copy.
replace github.com/modelc/modelc/runtime => ./runtime

// runtime/cuda (the GPU loader, which needs purego) is a module of its own
// too, so that only an application running models on a GPU requires it.
replace github.com/modelc/modelc/runtime/cuda => ./runtime/cuda
