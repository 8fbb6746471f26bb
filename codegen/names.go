package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/modelc/modelc/internal/gosrc"
)

// Every user-derived string reaches generated code through internal/gosrc;
// these are the names codegen uses for its functions.

// exportedName turns a user string into an exported Go identifier (see
// gosrc.Ident). taken holds names already used; a clash gets a numeric
// suffix.
func exportedName(s string, taken map[string]bool) string { return gosrc.Ident(s, taken) }

// ExportedName is the name generated code gives an input or output in the
// Inputs and Outputs structs (see gosrc.Ident); tools that drive a
// generated package call it with the graph's inputs, then outputs, in
// order, sharing one taken map.
func ExportedName(s string, taken map[string]bool) string { return gosrc.Ident(s, taken) }

// comment makes a user string safe as the text of a // comment (see
// gosrc.Comment).
func comment(s string) string { return gosrc.Comment(s) }

// quoted is a user string as a Go string literal (see gosrc.Quote).
func quoted(s string) *jen.Statement { return jen.Op(gosrc.Quote(s)) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
