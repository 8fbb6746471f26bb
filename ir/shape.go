package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// Dim is one dimension, affine in the symbolic batch N: A·N + B.
// A static dimension has A == 0. The IR has at most one symbol, N, so every
// dimension is such a pair and shape rules reject anything else.
type Dim struct{ A, B int }

// D returns the static dimension n.
func D(n int) Dim { return Dim{B: n} }

// N is the symbolic batch dimension itself.
var N = Dim{A: 1}

// Static reports whether d does not depend on N.
func (d Dim) Static() bool { return d.A == 0 }

// At evaluates d for batch n.
func (d Dim) At(n int) int { return d.A*n + d.B }

// Add returns d + e.
func (d Dim) Add(e Dim) Dim { return Dim{d.A + e.A, d.B + e.B} }

// Sub returns d - e.
func (d Dim) Sub(e Dim) Dim { return Dim{d.A - e.A, d.B - e.B} }

// MulInt returns d·k.
func (d Dim) MulInt(k int) Dim { return Dim{d.A * k, d.B * k} }

// Mul returns d·e, or false when the product is not affine (N²).
func (d Dim) Mul(e Dim) (Dim, bool) {
	if d.A != 0 && e.A != 0 {
		return Dim{}, false
	}
	return Dim{d.A*e.B + e.A*d.B, d.B * e.B}, true
}

// DivInt returns d/k when k divides both coefficients.
func (d Dim) DivInt(k int) (Dim, bool) {
	if k == 0 || d.A%k != 0 || d.B%k != 0 {
		return Dim{}, false
	}
	return Dim{d.A / k, d.B / k}, true
}

func (d Dim) String() string {
	if d.A == 0 {
		return strconv.Itoa(d.B)
	}
	var s string
	switch d.A {
	case 1:
		s = "N"
	case -1:
		s = "-N"
	default:
		s = strconv.Itoa(d.A) + "N"
	}
	switch {
	case d.B > 0:
		s += "+" + strconv.Itoa(d.B)
	case d.B < 0:
		s += strconv.Itoa(d.B)
	}
	return s
}

// ParseDim parses "7", "N", "2N", "N+1", "3N-2".
func ParseDim(s string) (Dim, error) {
	i := strings.IndexByte(s, 'N')
	if i < 0 {
		b, err := strconv.Atoi(s)
		if err != nil {
			return Dim{}, fmt.Errorf("bad dimension %q: want an integer or an affine form like 2N+1", s)
		}
		return D(b), nil
	}
	var d Dim
	switch a := s[:i]; a {
	case "":
		d.A = 1
	case "-":
		d.A = -1
	default:
		v, err := strconv.Atoi(a)
		if err != nil || v == 0 {
			return Dim{}, fmt.Errorf("bad dimension %q: want an affine form like 2N+1", s)
		}
		d.A = v
	}
	if rest := s[i+1:]; rest != "" {
		if rest[0] != '+' && rest[0] != '-' {
			return Dim{}, fmt.Errorf("bad dimension %q: want an affine form like 2N+1", s)
		}
		v, err := strconv.Atoi(rest)
		if err != nil {
			return Dim{}, fmt.Errorf("bad dimension %q: want an affine form like 2N+1", s)
		}
		d.B = v
	}
	return d, nil
}

// Shape is a list of dimensions, outermost first.
type Shape []Dim

// StaticShape builds a Shape of static dimensions.
func StaticShape(dims ...int) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = D(d)
	}
	return s
}

// Rank is the number of dimensions.
func (s Shape) Rank() int { return len(s) }

// Static reports whether no dimension depends on N.
func (s Shape) Static() bool {
	for _, d := range s {
		if !d.Static() {
			return false
		}
	}
	return true
}

// At evaluates the shape for batch n.
func (s Shape) At(n int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = d.At(n)
	}
	return out
}

// Ints returns the dimensions of a static shape.
func (s Shape) Ints() []int { return s.At(0) }

// Equal reports whether s and t are the same shape.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Numel returns the element count as a polynomial in N (coefficient i of
// N^i), so that shapes can be compared for size even when it is not affine.
func (s Shape) Numel() Poly {
	p := Poly{1}
	for _, d := range s {
		p = p.MulDim(d)
	}
	return p
}

// NumelDim returns the element count when it is affine in N.
func (s Shape) NumelDim() (Dim, bool) { return s.Numel().Dim() }

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Poly is a polynomial in N, lowest power first.
type Poly []int

// MulDim multiplies p by an affine dimension.
func (p Poly) MulDim(d Dim) Poly {
	out := make(Poly, len(p)+1)
	for i, c := range p {
		out[i] += c * d.B
		out[i+1] += c * d.A
	}
	return out.trim()
}

func (p Poly) trim() Poly {
	for len(p) > 1 && p[len(p)-1] == 0 {
		p = p[:len(p)-1]
	}
	return p
}

// Equal reports whether p and q are the same polynomial.
func (p Poly) Equal(q Poly) bool {
	p, q = p.trim(), q.trim()
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// Dim converts p to an affine dimension, if it is one.
func (p Poly) Dim() (Dim, bool) {
	p = p.trim()
	switch len(p) {
	case 1:
		return D(p[0]), true
	case 2:
		return Dim{A: p[1], B: p[0]}, true
	}
	return Dim{}, false
}
