package codegen

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/modelc/modelc/ir"
)

// The line writer: the string-built kernels that predate the templates
// (topk, tile, trilu, one_hot, gather/scatter_elements, gather/scatter_nd
// and resize in kernel_index.go) write their bodies with kctx.line,
// naming the parameters o0…, i0…, s0…. They move onto codegen/kernels
// templates one by one; this file goes with the last of them.

// line writes one line of the body, substituting $KEY by its value
// (longest keys first, so $KH is not taken for $K followed by H).
func (c *kctx) line(text string, kv ...any) {
	idx := make([]int, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return len(kv[idx[a]].(string)) > len(kv[idx[b]].(string)) })
	for _, i := range idx {
		text = strings.ReplaceAll(text, "$"+kv[i].(string), fmt.Sprint(kv[i+1]))
	}
	c.body.WriteString(text)
	c.body.WriteByte('\n')
}

// lineParams names a line-written kernel's parameters: o0…, i0…, s0….
func (c *kctx) lineParams() {
	for i, v := range c.node.Outputs {
		c.params, c.types = append(c.params, fmt.Sprintf("o%d", i)), append(c.types, goType(v.Type.DType))
	}
	for i, v := range c.node.Inputs {
		t := goType(v.Type.DType)
		if c.packs[i].i8 != nil {
			t = "[]int8"
		}
		c.params, c.types = append(c.params, fmt.Sprintf("i%d", i)), append(c.types, t)
	}
	for i := range c.scratch {
		c.params, c.types = append(c.params, fmt.Sprintf("s%d", i)), append(c.types, "[]float32")
	}
}

// lineUnused returns the arguments (n and the parameters) a line-written
// body never names, so a parallel kernel's run does not unpack them (Go
// refuses a declared and unused variable).
func (c *kctx) lineUnused() map[string]bool {
	unused := map[string]bool{}
	body := c.body.String()
	for _, nm := range append([]string{"n"}, c.params...) {
		if !regexp.MustCompile(`\b` + nm + `\b`).MatchString(body) {
			unused[nm] = true
		}
	}
	return unused
}

// floatLit is f as a Go float64 expression (math.Inf and math.NaN for
// the non-finite values, which have no literal).
func floatLit(f float64) string {
	switch {
	case f != f:
		return "math.NaN()"
	case f > 1e308:
		return "math.Inf(1)"
	case f < -1e308:
		return "math.Inf(-1)"
	}
	return ir.FormatFloat(f)
}
