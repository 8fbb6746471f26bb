package ir

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The text form of a graph, one statement per line:
//
//	graph tiny {
//	  input %x: f32[N,4]
//	  const %w: f32[3,4] = dense<[0.5, -1, ...]>
//	  const %b: f32[3] = splat<0>
//	  %h = linear @fc1 (%x, %w, %b): f32[N,3]
//	  %a, %c = split (%h) {axis=1, sizes=[1,2]}: f32[N,1], f32[N,2]
//	  output %a, %c
//	}
//
// Names that are not plain words (letters, digits, _ . - /) are quoted.
// Parse reads exactly what Fprint writes.

// PrintOptions controls Fprint.
type PrintOptions struct {
	// MaxData is the largest constant printed in full; larger ones print
	// as dense<elided>. 0 means 16; negative prints everything.
	MaxData int
}

// Fprint writes g in text form, eliding constants of more than 16 elements.
func Fprint(w io.Writer, g *Graph) error { return PrintOptions{}.Fprint(w, g) }

// Fprint writes g in text form.
func (o PrintOptions) Fprint(w io.Writer, g *Graph) error {
	max := o.MaxData
	if max == 0 {
		max = 16
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "graph %s {\n", quoteName(g.Name))
	for _, v := range g.Inputs {
		fmt.Fprintf(&sb, "  input %%%s: %s\n", quoteName(v.Name), FormatType(v.Type))
	}
	for _, v := range g.Consts {
		fmt.Fprintf(&sb, "  const %%%s: %s = %s\n", quoteName(v.Name), FormatType(v.Type), formatData(v.Const, max))
	}
	for _, n := range g.Nodes {
		sb.WriteString("  ")
		sb.WriteString(formatNode(n))
		sb.WriteString("\n")
	}
	if len(g.Outputs) > 0 {
		sb.WriteString("  output ")
		for i, v := range g.Outputs {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("%" + quoteName(v.Name))
		}
		sb.WriteString("\n")
	}
	sb.WriteString("}\n")
	_, err := io.WriteString(w, sb.String())
	return err
}

func formatNode(n *Node) string {
	var sb strings.Builder
	for i, v := range n.Outputs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("%" + quoteName(v.Name))
	}
	sb.WriteString(" = ")
	sb.WriteString(n.Op.Kind().String())
	if n.Name != "" {
		sb.WriteString(" @" + quoteName(n.Name))
	}
	sb.WriteString(" (")
	for i, v := range n.Inputs {
		if i > 0 {
			sb.WriteString(", ")
		}
		if v == nil {
			sb.WriteString("%<nil>")
			continue
		}
		sb.WriteString("%" + quoteName(v.Name))
	}
	sb.WriteString(")")
	if a := formatAttrs(n.Op); a != "" {
		sb.WriteString(" " + a)
	}
	sb.WriteString(":")
	for i, v := range n.Outputs {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(" " + FormatType(v.Type))
	}
	return sb.String()
}

// FormatType prints a type: f32[N,3], i8[4]<scale=0.5,zp=0>, f32[N,16,8,8]#nchw8c.
func FormatType(t Type) string {
	s := t.DType.String() + t.Shape.String()
	switch q := t.Quant; {
	case q.Scale != 0:
		s += fmt.Sprintf("<scale=%s,zp=%d>", FormatFloat(q.Scale), q.ZeroPoint)
	case q.WordLen != 0:
		s += fmt.Sprintf("<fixed=%d.%d>", q.WordLen, q.FracLen)
	}
	if t.Layout != LayoutAny {
		s += "#" + t.Layout.String()
	}
	return s
}

func formatData(t *Tensor, max int) string {
	if t == nil {
		return "dense<elided>"
	}
	if t.Splat {
		return "splat<" + formatElem(t, 0) + ">"
	}
	n := t.Numel()
	if (t.F == nil && t.I == nil && n > 0) || (max >= 0 && n > max) {
		return "dense<elided>"
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = formatElem(t, i)
	}
	return "dense<[" + strings.Join(parts, ", ") + "]>"
}

func formatElem(t *Tensor, i int) string {
	if t.DType.IsFloat() {
		f := t.F[i]
		switch s := FormatFloat(float64(f)); s {
		case "inf", "-inf", "nan":
			return s
		}
		return strconv.FormatFloat(float64(f), 'g', -1, 32)
	}
	return strconv.FormatInt(t.I[i], 10)
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/' || c == '+'
}

// quoteName returns s as is when it is a plain word, else Go-quoted.
func quoteName(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return strconv.Quote(s)
		}
	}
	return s
}
