// Package passes rewrites ir.Graphs: one file per pass, one table of
// passes (registry.go) that fixes their order, and a pipeline that
// verifies the graph after every pass and can print it.
//
// The fixed phases around the user's passes are
//
//	canonicalize, const-fold, dce  →  user passes  →  fuse-epilogue, layout-assign, memory-plan
//
// where the user passes (bn-fold, attention-drop, kronecker, quantize) run
// in the registry's order whatever order model.yaml lists them in — a list
// that breaks it is an error naming both passes. A pass that leaves the IR
// invalid is a bug in that pass: the pipeline stops, names the pass and
// dumps the graph.
package passes
