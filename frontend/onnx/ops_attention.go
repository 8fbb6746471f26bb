package onnx

import (
	"fmt"
	"math"

	"github.com/modelc/modelc/ir"
)

// importAttention: ONNX Attention (opsets 23–25), built the way its
// definition reads, from reshapes, matmuls, a softmax and an additive
// bias: 3-D inputs split into heads (q_num_heads, kv_num_heads); Q and K
// each scaled by √scale (scale defaults to 1/√head_size); past_key and
// past_value prepended along the sequence (present_key and present_value
// are outputs); key and value heads repeated for grouped-query attention;
// softcap·tanh(scores/softcap) when softcap > 0; the bias is the mask
// (bool: 0 where true, −Inf where false; float: added; padded with −Inf
// to the key length) plus, with is_causal, −Inf where key j > query i +
// the past length, plus a sliding window (opset 25); a row whose bias is
// −Inf everywhere gives zeros. qk_matmul_output_mode picks the scores
// (0, 1), the biased scores (2) or the probabilities (3) as output 3.
// nonpad_kv_seqlen must be known at import time.
//
// The plain case, 3-D inputs with as many key as query heads and no mask,
// cache, softcap or extra output, is the IR's attention op itself.
func importAttention(c *nodeCtx) error {
	if err := c.arity(3, 7); err != nil {
		return err
	}
	var e errs
	causal := e.int(c, "is_causal", 0) != 0
	qH := e.int(c, "q_num_heads", 0)
	kvH := e.int(c, "kv_num_heads", 0)
	mode := e.int(c, "qk_matmul_output_mode", 0)
	scale := e.float(c, "scale", 0)
	softcap := e.float(c, "softcap", 0)
	left := e.int(c, "left_window_size", -1)
	right := e.int(c, "right_window_size", -1)
	e.int(c, "softmax_precision", 0) // the softmax runs in float32 (or wider) anyway
	if e.err != nil {
		return e.err
	}
	q, err := c.in(0)
	if err != nil {
		return err
	}
	k, err := c.in(1)
	if err != nil {
		return err
	}
	v, err := c.in(2)
	if err != nil {
		return err
	}
	dt := q.Type.DType
	rank3 := q.Type.Shape.Rank() == 3
	if rank3 && qH == kvH && qH > 0 && c.nin() <= 3 && softcap == 0 && left < 0 && right < 0 && !c.wants(1) && !c.wants(2) && !c.wants(3) {
		// Plain multi-head attention on [B, T, D]: the IR's op (its causal
		// mask, key j > query i, is the no-cache frontier).
		if s := q.Type.Shape[2]; s.Static() && s.B%int(qH) == 0 {
			sc := scale
			if sc == 0 {
				sc = 1 / math.Sqrt(float64(s.B/int(qH)))
			}
			return c.emit(0, &ir.Attention{Heads: int(qH), Scale: sc, Causal: causal}, q, k, v)
		}
	}
	if rank3 {
		if qH < 1 || kvH < 1 {
			return fmt.Errorf("3-D inputs need q_num_heads and kv_num_heads")
		}
		if q, err = c.splitHeads(q, qH); err != nil {
			return err
		}
		if k, err = c.splitHeads(k, kvH); err != nil {
			return err
		}
		if v, err = c.splitHeads(v, kvH); err != nil {
			return err
		}
	} else if q.Type.Shape.Rank() != 4 || k.Type.Shape.Rank() != 4 || v.Type.Shape.Rank() != 4 {
		return fmt.Errorf("Q, K and V must all be 3-D or all 4-D, got %s, %s, %s", q.Type.Shape, k.Type.Shape, v.Type.Shape)
	}
	qh, kh := q.Type.Shape[1], k.Type.Shape[1]
	hd := q.Type.Shape[3]
	if !qh.Static() || !kh.Static() || !hd.Static() || kh.B == 0 || qh.B%kh.B != 0 {
		return fmt.Errorf("query heads %s must be a multiple of key heads %s", qh, kh)
	}
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(hd.B))
	}
	past := 0
	if c.has(4) != c.has(5) {
		return fmt.Errorf("past_key and past_value come together")
	}
	if c.has(4) {
		pk, err := c.in(4)
		if err != nil {
			return err
		}
		pv, err := c.in(5)
		if err != nil {
			return err
		}
		if !pk.Type.Shape[2].Static() {
			return unsupported("a past_key whose length depends on the batch")
		}
		past = pk.Type.Shape[2].B
		if k, err = c.tmp(&ir.Concat{Axis: 2}, pk, k); err != nil {
			return err
		}
		if v, err = c.tmp(&ir.Concat{Axis: 2}, pv, v); err != nil {
			return err
		}
	}
	c.set(1, k)
	c.set(2, v)
	sq, skv := q.Type.Shape[2], k.Type.Shape[2]
	if !sq.Static() || !skv.Static() {
		return unsupported("Attention with batch-dependent sequence lengths")
	}
	bias, allMasked, err := c.attentionBias(dt, sq.B, skv.B, past, causal, left, right, q.Type.Shape[0])
	if err != nil {
		return err
	}
	if r := qh.B / kh.B; r > 1 {
		if k, err = c.repeatHeads(k, r); err != nil {
			return err
		}
		if v, err = c.repeatHeads(v, r); err != nil {
			return err
		}
	}
	s, err := c.scalarConst(dt, math.Sqrt(scale))
	if err != nil {
		return err
	}
	if q, err = c.bin(ir.KMul, q, s); err != nil {
		return err
	}
	if k, err = c.bin(ir.KMul, k, s); err != nil {
		return err
	}
	kt, err := c.tmp(&ir.Transpose{Perm: []int{0, 1, 3, 2}}, k)
	if err != nil {
		return err
	}
	scores, err := c.bin(ir.KMatMul, q, kt)
	if err != nil {
		return err
	}
	if softcap > 0 {
		cap, err := c.scalarConst(dt, softcap)
		if err != nil {
			return err
		}
		if scores, err = c.bin(ir.KDiv, scores, cap); err != nil {
			return err
		}
		if scores, err = c.tmp(ir.Simple{K: ir.KTanh}, scores); err != nil {
			return err
		}
		if scores, err = c.bin(ir.KMul, scores, cap); err != nil {
			return err
		}
	}
	qkOut := scores
	if bias != nil {
		if scores, err = c.bin(ir.KAdd, scores, bias); err != nil {
			return err
		}
	}
	if mode == 2 {
		qkOut = scores
	}
	p, err := c.tmp(&ir.Softmax{K: ir.KSoftmax, Axis: 3}, scores)
	if err != nil {
		return err
	}
	if allMasked != nil {
		zero, err := c.scalarConst(dt, 0)
		if err != nil {
			return err
		}
		if p, err = c.tmp(ir.Simple{K: ir.KWhere}, allMasked, zero, p); err != nil {
			return err
		}
	}
	if mode == 3 {
		qkOut = p
	}
	if c.wants(3) {
		c.set(3, qkOut)
	}
	y, err := c.bin(ir.KMatMul, p, v)
	if err != nil {
		return err
	}
	if !rank3 {
		return c.emit(0, &ir.Reshape{Shape: y.Type.Shape.Clone()}, y)
	}
	if y, err = c.tmp(&ir.Transpose{Perm: []int{0, 2, 1, 3}}, y); err != nil {
		return err
	}
	ys := y.Type.Shape
	d, ok := ys[2].Mul(ys[3])
	if !ok {
		return fmt.Errorf("output heads %s are not affine in N", ys)
	}
	return c.emit(0, &ir.Reshape{Shape: ir.Shape{ys[0], ys[1], d}}, y)
}

// splitHeads turns [B, S, H·d] into [B, H, S, d].
func (c *nodeCtx) splitHeads(x *ir.Value, heads int) (*ir.Value, error) {
	s := x.Type.Shape
	if s.Rank() != 3 || !s[2].Static() || s[2].B%heads != 0 {
		return nil, fmt.Errorf("input %s does not split into %d heads", s, heads)
	}
	y, err := c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], s[1], ir.D(heads), ir.D(s[2].B / heads)}}, x)
	if err != nil {
		return nil, err
	}
	return c.tmp(&ir.Transpose{Perm: []int{0, 2, 1, 3}}, y)
}

// repeatHeads repeats each head r times in place: [h0, h0, h1, h1, …].
func (c *nodeCtx) repeatHeads(x *ir.Value, r int) (*ir.Value, error) {
	s := x.Type.Shape
	y, err := c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], s[1], ir.D(1), s[2], s[3]}}, x)
	if err != nil {
		return nil, err
	}
	if y, err = c.tmp(&ir.Expand{Shape: ir.Shape{s[0], s[1], ir.D(r), s[2], s[3]}}, y); err != nil {
		return nil, err
	}
	return c.tmp(&ir.Reshape{Shape: ir.Shape{s[0], s[1].MulInt(r), s[2], s[3]}}, y)
}

// attentionBias builds the additive bias (nil when there is none) and the
// bool marking rows whose bias is −Inf everywhere (nil when none can be).
func (c *nodeCtx) attentionBias(dt ir.DType, sq, skv, past int, causal bool, left, right int, batch ir.Dim) (*ir.Value, *ir.Value, error) {
	var bias *ir.Value
	var err error
	if c.has(3) {
		m, err := c.in(3)
		if err != nil {
			return nil, nil, err
		}
		if n := m.Type.Shape.Rank(); n > 0 && m.Type.Shape[n-1].Static() && m.Type.Shape[n-1].B < skv {
			pads := make([]int, 2*n)
			pads[2*n-1] = skv - m.Type.Shape[n-1].B
			fill := math.Inf(-1)
			if m.Type.DType == ir.Bool {
				fill = 0
			}
			if m, err = c.tmp(&ir.Pad{Pads: pads, Value: fill}, m); err != nil {
				return nil, nil, err
			}
		}
		if m.Type.DType == ir.Bool {
			zero, err := c.scalarConst(dt, 0)
			if err != nil {
				return nil, nil, err
			}
			ninf, err := c.scalarConst(dt, math.Inf(-1))
			if err != nil {
				return nil, nil, err
			}
			if m, err = c.tmp(ir.Simple{K: ir.KWhere}, m, zero, ninf); err != nil {
				return nil, nil, err
			}
		}
		bias = m
	}
	// The causal frontier, the sliding window and the padding of
	// nonpad_kv_seqlen are known at import time: one constant.
	var lens []int64
	if c.has(6) {
		if past > 0 {
			return nil, nil, fmt.Errorf("nonpad_kv_seqlen cannot be combined with past_key")
		}
		if lens, err = c.ints(6, "nonpad_kv_seqlen"); err != nil {
			return nil, nil, err
		}
		if !batch.Static() || len(lens) != batch.B {
			return nil, nil, fmt.Errorf("nonpad_kv_seqlen has %d entries for batch %s", len(lens), batch)
		}
	}
	if causal || left >= 0 || right >= 0 || lens != nil {
		nb := 1
		if lens != nil {
			nb = len(lens)
		}
		t := ir.NewTensor(dt, []int{nb, 1, sq, skv})
		for b := range nb {
			off := past
			if lens != nil {
				off = int(lens[b]) - sq
			}
			for i := range sq {
				for j := range skv {
					d := i + off - j
					ok := !causal || d >= 0
					ok = ok && (left < 0 || d <= left) && (right < 0 || -d <= right)
					ok = ok && (lens == nil || int64(j) < lens[b])
					if !ok {
						t.F[(b*sq+i)*skv+j] = float32(math.Inf(-1))
					}
				}
			}
		}
		if lens == nil {
			t.Shape = []int{sq, skv}
		}
		kv, err := c.konst(t)
		if err != nil {
			return nil, nil, err
		}
		if bias == nil {
			bias = kv
		} else if bias, err = c.bin(ir.KAdd, bias, kv); err != nil {
			return nil, nil, err
		}
	}
	if bias == nil {
		return nil, nil, nil
	}
	mx, err := c.tmp(&ir.Reduce{K: ir.KReduceMax, Axes: []int{-1}, KeepDims: true}, bias)
	if err != nil {
		return nil, nil, err
	}
	ninf, err := c.scalarConst(dt, math.Inf(-1))
	if err != nil {
		return nil, nil, err
	}
	all, err := c.bin(ir.KEqual, mx, ninf)
	if err != nil {
		return nil, nil, err
	}
	return bias, all, nil
}
