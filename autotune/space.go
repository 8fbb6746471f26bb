package autotune

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Axis is one parameter of a space: its name and its legal values, in an
// order where neighbours are alike (a search steps along it).
type Axis struct {
	Name   string
	Values []int
}

// Point is a variant: one value per axis of its space, in axis order.
type Point []int

// Space is the variants of one kernel: the product of its axes less the
// points Valid rejects (tiles that do not fit the registers, panels that
// are not a multiple of the tile).
type Space struct {
	Axes  []Axis
	Valid func(Point) bool // nil: every point is valid
}

// ok reports whether p is a point of s.
func (s *Space) ok(p Point) bool {
	if len(p) != len(s.Axes) {
		return false
	}
	for i, v := range p {
		if s.index(i, v) < 0 {
			return false
		}
	}
	return s.Valid == nil || s.Valid(p)
}

// index returns the position of value v on axis i, or -1.
func (s *Space) index(i, v int) int {
	for j, w := range s.Axes[i].Values {
		if w == v {
			return j
		}
	}
	return -1
}

// All returns every valid point, in lexicographic order of the axes.
func (s *Space) All() []Point {
	var out []Point
	idx := make([]int, len(s.Axes))
	for {
		p := make(Point, len(s.Axes))
		for i, j := range idx {
			p[i] = s.Axes[i].Values[j]
		}
		if s.Valid == nil || s.Valid(p) {
			out = append(out, p)
		}
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(s.Axes[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out
		}
	}
}

// Size returns the number of valid points.
func (s *Space) Size() int { return len(s.All()) }

// Neighbours returns the valid points that differ from p on one axis by
// one step, and, for an axis whose step lands on an invalid point, the
// next valid value along it (so a search crosses a hole in the space).
func (s *Space) Neighbours(p Point) []Point {
	var out []Point
	for i := range s.Axes {
		at := s.index(i, p[i])
		for _, dir := range []int{-1, 1} {
			for j := at + dir; j >= 0 && j < len(s.Axes[i].Values); j += dir {
				q := append(Point(nil), p...)
				q[i] = s.Axes[i].Values[j]
				if s.Valid == nil || s.Valid(q) {
					out = append(out, q)
					break
				}
			}
		}
	}
	return out
}

// Near returns the valid points one step away from p along one axis, or
// along two axes at once (Neighbours and the diagonal steps): a search
// that moves only along one axis stalls where two parameters must change
// together (a taller tile only pays when it is narrower).
func (s *Space) Near(p Point) []Point {
	out := s.Neighbours(p)
	for i := range s.Axes {
		for j := i + 1; j < len(s.Axes); j++ {
			for _, di := range []int{-1, 1} {
				for _, dj := range []int{-1, 1} {
					a, b := s.index(i, p[i])+di, s.index(j, p[j])+dj
					if a < 0 || b < 0 || a >= len(s.Axes[i].Values) || b >= len(s.Axes[j].Values) {
						continue
					}
					q := append(Point(nil), p...)
					q[i], q[j] = s.Axes[i].Values[a], s.Axes[j].Values[b]
					if s.Valid == nil || s.Valid(q) {
						out = append(out, q)
					}
				}
			}
		}
	}
	return out
}

// Random returns a uniformly drawn valid point.
func (s *Space) Random(r *rand.Rand) Point {
	all := s.All()
	return all[r.IntN(len(all))]
}

// Name writes p as the database and codegen spell a variant:
// "name=value" per axis, comma-separated, in axis order.
func (s *Space) Name(p Point) string {
	parts := make([]string, len(p))
	for i, v := range p {
		parts[i] = s.Axes[i].Name + "=" + strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// Parse reads a name written by Name; every axis must be given, once.
func (s *Space) Parse(name string) (Point, error) {
	p := make(Point, len(s.Axes))
	seen := make([]bool, len(s.Axes))
	for _, part := range strings.Split(name, ",") {
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("variant %q: %q is not name=integer", name, part)
		}
		i := s.axis(k)
		if i < 0 || seen[i] {
			return nil, fmt.Errorf("variant %q: unknown or repeated parameter %q (want %s)", name, k, s.axisNames())
		}
		p[i], seen[i] = n, true
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("variant %q: no value for %s", name, s.Axes[i].Name)
		}
	}
	if !s.ok(p) {
		return nil, fmt.Errorf("variant %q is not in the space (%s)", name, s.axisNames())
	}
	return p, nil
}

func (s *Space) axis(name string) int {
	for i, a := range s.Axes {
		if a.Name == name {
			return i
		}
	}
	return -1
}

func (s *Space) axisNames() string {
	var names []string
	for _, a := range s.Axes {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}
