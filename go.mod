module github.com/modelc/modelc

go 1.26.8

require (
	github.com/dave/jennifer v1.7.1
	github.com/goccy/go-yaml v1.19.2
	github.com/modelc/modelc/runtime v0.0.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/sys v0.50.0
	gonum.org/v1/gonum v0.17.0
	google.golang.org/protobuf v1.36.12
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

// The runtime is a module of its own (its only requirement is
// golang.org/x/sys), so that an application importing a generated package
// pulls in nothing of the compiler's dependencies; here it is this
// checkout's copy.
replace github.com/modelc/modelc/runtime => ./runtime
