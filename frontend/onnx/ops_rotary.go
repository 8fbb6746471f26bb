package onnx

import (
	"fmt"

	"github.com/modelc/modelc/ir"
)

// importRotary: RotaryEmbedding (opset 23), as its definition reads: x
// as [B, S, H, d] (from [B, H, S, d], or [B, S, H·d] with num_heads);
// the first rotary_embedding_dim of each head rotated in pairs (halves,
// or even and odd elements when interleaved) by the cos and sin caches
// (gathered at position_ids when given), the rest passed through.
func importRotary(c *nodeCtx) error {
	if err := c.arity(3, 4); err != nil {
		return err
	}
	var e errs
	inter := e.int(c, "interleaved", 0) != 0
	rdim := e.int(c, "rotary_embedding_dim", 0)
	heads := e.int(c, "num_heads", 0)
	if e.err != nil {
		return e.err
	}
	x, err := c.in(0)
	if err != nil {
		return err
	}
	cos, err := c.in(1)
	if err != nil {
		return err
	}
	sin, err := c.in(2)
	if err != nil {
		return err
	}
	s := x.Type.Shape
	var y *ir.Value
	switch s.Rank() {
	case 4:
		if y, err = c.tmp(&ir.Transpose{Perm: []int{0, 2, 1, 3}}, x); err != nil {
			return err
		}
	case 3:
		if heads < 1 || !s[2].Static() || s[2].B%heads != 0 {
			return fmt.Errorf("3-D input %s needs num_heads dividing its last dimension", s)
		}
		if y, err = c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], s[1], ir.D(heads), ir.D(s[2].B / heads)}}, x); err != nil {
			return err
		}
	default:
		return fmt.Errorf("input must be 3-D or 4-D, got %s", s)
	}
	hd := y.Type.Shape[3].B
	if rdim == 0 {
		rdim = hd
	}
	if rdim%2 != 0 || rdim > hd {
		return fmt.Errorf("rotary_embedding_dim %d must be even and at most the head size %d", rdim, hd)
	}
	if c.has(3) {
		pos, err := c.in(3)
		if err != nil {
			return err
		}
		if cos, err = c.tmp(&ir.Gather{}, cos, pos); err != nil {
			return err
		}
		if sin, err = c.tmp(&ir.Gather{}, sin, pos); err != nil {
			return err
		}
	}
	// Caches [B, S, rdim/2] → [B, S, 1, rdim/2].
	unsq := func(v *ir.Value) (*ir.Value, error) {
		cs := v.Type.Shape
		if cs.Rank() != 3 || cs[2] != ir.D(rdim/2) {
			return nil, fmt.Errorf("cache %s must be [batch, sequence, %d]", cs, rdim/2)
		}
		return c.tmp(&ir.Reshape{Shape: ir.Shape{cs[0], cs[1], ir.D(1), cs[2]}}, v)
	}
	if cos, err = unsq(cos); err != nil {
		return err
	}
	if sin, err = unsq(sin); err != nil {
		return err
	}
	slice := func(v *ir.Value, start, end, step int) (*ir.Value, error) {
		return c.tmp(&ir.Slice{Starts: []int{start}, Ends: []int{end}, Axes: []int{3}, Steps: []int{step}}, v)
	}
	rot := y
	if rdim < hd {
		if rot, err = slice(y, 0, rdim, 1); err != nil {
			return err
		}
	}
	var x1, x2 *ir.Value
	if inter {
		if x1, err = slice(rot, 0, rdim, 2); err != nil {
			return err
		}
		if x2, err = slice(rot, 1, rdim, 2); err != nil {
			return err
		}
	} else {
		if x1, err = slice(rot, 0, rdim/2, 1); err != nil {
			return err
		}
		if x2, err = slice(rot, rdim/2, rdim, 1); err != nil {
			return err
		}
	}
	mul := func(a, b *ir.Value) (*ir.Value, error) { return c.bin(ir.KMul, a, b) }
	c1, err := mul(cos, x1)
	if err != nil {
		return err
	}
	s2, err := mul(sin, x2)
	if err != nil {
		return err
	}
	real, err := c.bin(ir.KSub, c1, s2)
	if err != nil {
		return err
	}
	s1, err := mul(sin, x1)
	if err != nil {
		return err
	}
	c2, err := mul(cos, x2)
	if err != nil {
		return err
	}
	imag, err := c.bin(ir.KAdd, s1, c2)
	if err != nil {
		return err
	}
	var out *ir.Value
	if inter { // pairs (real, imag) side by side
		rs := real.Type.Shape
		pair := ir.Shape{rs[0], rs[1], rs[2], rs[3], ir.D(1)}
		if real, err = c.tmp(&ir.Reshape{Shape: pair}, real); err != nil {
			return err
		}
		if imag, err = c.tmp(&ir.Reshape{Shape: pair}, imag); err != nil {
			return err
		}
		if out, err = c.tmp(&ir.Concat{Axis: 4}, real, imag); err != nil {
			return err
		}
		if out, err = c.tmp(&ir.Reshape{Shape: rot.Type.Shape.Clone()}, out); err != nil {
			return err
		}
	} else if out, err = c.tmp(&ir.Concat{Axis: 3}, real, imag); err != nil {
		return err
	}
	if rdim < hd {
		pass, err := slice(y, rdim, hd, 1)
		if err != nil {
			return err
		}
		if out, err = c.tmp(&ir.Concat{Axis: 3}, out, pass); err != nil {
			return err
		}
	}
	if s.Rank() == 4 {
		return c.emit(0, &ir.Transpose{Perm: []int{0, 2, 1, 3}}, out)
	}
	return c.emit(0, &ir.Reshape{Shape: s.Clone()}, out)
}
