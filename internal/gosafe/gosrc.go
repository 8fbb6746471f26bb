// Package gosafe is the one way a user-derived string reaches generated Go
// source. Model, layer and value names, file names, paths and doc strings
// come from files other people wrote, so none of them is ever pasted into
// a generated file as it is: each goes through exactly one of
//
//   - Quote, for a string literal;
//   - Comment, for the text of a // line comment;
//   - Ident, for an exported identifier (ASCII letters and digits only);
//   - Package and CheckPackage, for a package clause;
//   - Command, for the arguments of the //go:generate line.
//
// Each result is safe on its own: it cannot end the comment or literal it
// is placed in, start a compiler directive (//go:…, //line) or name a
// keyword. The fuzz target FuzzHostileNames in codegen generates packages
// from hostile names and checks that they type-check with exactly the
// declarations a benign name gives.
package gosafe

import (
	"fmt"
	"go/token"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Quote returns s as a Go string literal in ASCII ("é" becomes "\u00e9"),
// so the literal holds no character an editor or terminal might render
// misleadingly. Invalid UTF-8 is escaped byte by byte.
func Quote(s string) string { return strconv.QuoteToASCII(s) }

// Comment returns s as text for a // line comment: printable ASCII kept,
// anything else (newlines, carriage returns, Unicode line separators,
// control and non-ASCII characters) written as its Go escape, so the
// comment stays one line and still says what the name was. A leading
// slash is preceded by a space so that a caller writing "//" + result (or
// jennifer's Comment, which passes text starting with // through as it is)
// never produces a directive such as //go:generate.
func Comment(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case r >= 0x20 && r < 0x7f:
			sb.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r) // 'x' with the escape inside
			sb.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	out := sb.String()
	if strings.HasPrefix(out, "/") {
		out = " " + out
	}
	return out
}

// Ident turns a user string into an exported Go identifier made of ASCII
// letters and digits only: runs of other characters separate words, each
// word starting upper case ("my-layer" → MyLayer, `x"; os.Exit(1)//` →
// XOsExit1); an empty result or one starting with a digit gets a V in
// front. Exported names are never keywords. taken holds the names already
// used in the same scope; a clash gets a numeric suffix (X, X2, X3 …) and
// the result is added to taken.
func Ident(s string, taken map[string]bool) string {
	var sb strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			up = false
			sb.WriteRune(r)
		default:
			up = true
		}
	}
	name := sb.String()
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "V" + name
	}
	base := name
	for i := 2; taken[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	taken[name] = true
	return name
}

// Package derives a package name from a model name: lower-case ASCII
// letters and digits only ("ResNet-20" → resnet20). A result that is
// empty or starts with a digit gets "model" in front; one that is a Go
// keyword, or main (which would make a command rather than an importable
// package), gets "model" after ("switch" → switchmodel), so the result
// always passes CheckPackage.
func Package(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
		}
	}
	s := sb.String()
	switch {
	case s == "" || s[0] >= '0' && s[0] <= '9':
		s = "model" + s
	case reserved(s):
		s += "model"
	}
	return s
}

// CheckPackage reports whether s can be the package clause of a generated
// package that other code imports: a Go identifier in ASCII, not a
// keyword, not the blank identifier and not main. The error suggests a
// name that would do.
func CheckPackage(s string) error {
	valid := s != ""
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			valid = false
			break
		}
	}
	switch {
	case !valid:
		return fmt.Errorf("package %s is not a Go identifier (letters, digits and _, not starting with a digit); try %s", Quote(s), Package(s))
	case s == "_":
		return fmt.Errorf("package _ is the blank identifier, which cannot name a package; try %s", Package("model"))
	case reserved(s):
		return fmt.Errorf("package %s is reserved in Go (a keyword, or main, which cannot be imported); try %s", s, s+"model")
	}
	return nil
}

func reserved(s string) bool { return token.IsKeyword(s) || s == "main" }

// Command renders a command line for a //go:generate directive. go
// generate splits its line at spaces, unquotes double-quoted Go strings
// and then expands $NAME and ${NAME} from the environment; so every $
// becomes ${DOLLAR} (go generate's own variable for a dollar sign), and
// each argument that is not made only of letters, digits and -_./:=,+ is
// written as an ASCII Go string. The result is one line of printable
// ASCII.
func Command(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "$", "${DOLLAR}")
		if a == "" || strings.IndexFunc(a, unsafeArgRune) >= 0 {
			a = strconv.QuoteToASCII(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func unsafeArgRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+", r))
}
