package codegen

import (
	"strings"
	"unicode"
)

// exportedName turns a user string into an exported Go identifier made of
// ASCII letters and digits only ("my-layer" → MyLayer, `x"; os.Exit(1)//`
// → XOsExit1), so no user text reaches generated code outside a quoted
// literal. taken holds names already used; a clash gets a numeric suffix.
func exportedName(s string, taken map[string]bool) string { return ExportedName(s, taken) }

// ExportedName is the name generated code gives an input or output in the
// Inputs and Outputs structs (see exportedName); tools that drive a
// generated package call it with the graph's inputs, then outputs, in
// order, sharing one taken map.
func ExportedName(s string, taken map[string]bool) string {
	var sb strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if up {
				r = unicode.ToUpper(r)
				up = false
			}
			sb.WriteRune(r)
		default:
			up = true
		}
	}
	name := sb.String()
	if name == "" || unicode.IsDigit(rune(name[0])) {
		name = "V" + name
	}
	base := name
	for i := 2; taken[name]; i++ {
		name = base + itoa(i)
	}
	taken[name] = true
	return name
}

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

// comment makes a user string safe inside a // comment: printable ASCII
// only, no newlines.
func comment(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('?')
		}
	}
	return sb.String()
}
