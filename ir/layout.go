package ir

// Layout is a tensor's physical layout tag. The logical shape is always the
// one shape rules see; the layout only says how a kernel stores it. The
// reference evaluator ignores layouts.
type Layout uint8

const (
	LayoutAny Layout = iota // row-major in logical order (the default)
	NCHW
	NHWC
	NCHW8c
	NCHW16c
	numLayouts
)

var layoutNames = [numLayouts]string{"", "nchw", "nhwc", "nchw8c", "nchw16c"}

func (l Layout) String() string {
	if l < numLayouts {
		return layoutNames[l]
	}
	return "layout?"
}

// ParseLayout maps a printed tag back to its Layout.
func ParseLayout(s string) (Layout, bool) {
	for i, n := range layoutNames {
		if i > 0 && n == s {
			return Layout(i), true
		}
	}
	return LayoutAny, false
}
