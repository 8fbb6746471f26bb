package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/modelc/modelc/frontend/onnx/onnxpb"
	"github.com/modelc/modelc/ir"
)

// importRecurrent: RNN, GRU and LSTM (opsets 7 to 22) as a linear, the
// input projection X·Wᵀ of every timestep at once, then the IR's
// recurrent op (ir.Recurrent) on it, which adds B, runs the recurrence
// and writes Y, Y_h and Y_c. Every attribute the spec defines for
// inference is taken: direction, hidden_size (else R's last dimension),
// activations with activation_alpha and activation_beta, clip,
// input_forget (LSTM), linear_before_reset (GRU) and layout (opset 14).
// The optional inputs B, sequence_lens, initial_h, initial_c and P are
// passed on as they are; sequence_lens is read at run time (a constant
// that is T for every sequence is dropped).
//
// The activations are ONNX's names in any case. Their alphas and betas
// are consumed in order by the activations that take them (affine,
// leakyrelu, thresholdedrelu, scaledtanh, hardsigmoid, elu), as
// onnxruntime reads them; one that the lists leave out takes its
// default, as onnxruntime's: leakyrelu α 0.01, hardsigmoid α 0.2 β 0.5,
// elu α 1, every other 0. A bidirectional node may list one direction's
// activations, which then serve both (onnxruntime wants both listed).
func importRecurrent(c *nodeCtx) error {
	opType := c.n.GetOpType()
	cell := strings.ToLower(opType)
	maxIn := 6
	if cell == "lstm" {
		maxIn = 8
	}
	if err := c.arity(3, maxIn); err != nil {
		return err
	}
	var e errs
	hidden := e.int(c, "hidden_size", 0)
	dir := e.str(c, "direction", "forward")
	clip := e.float(c, "clip", 0)
	layout := 0
	if c.opset() >= 14 {
		layout = e.int(c, "layout", 0)
	} else if c.hasAttr("layout") {
		return unsupported("attribute \"layout\" of %s before opset 14", opType)
	}
	op := &ir.Recurrent{Cell: cell, Direction: dir, Layout: layout}
	switch cell {
	case "lstm":
		op.InputForget = e.int(c, "input_forget", 0) != 0
	case "gru":
		op.LinearBeforeReset = e.int(c, "linear_before_reset", 0) != 0
	}
	if e.err != nil {
		return e.err
	}
	if c.hasAttr("clip") {
		if !(clip > 0) {
			return unsupported("clip %v: the threshold must be positive", clip)
		}
		op.Clip = clip
	} else {
		op.Clip = math.Inf(1)
	}
	switch dir {
	case "forward", "reverse", "bidirectional":
	default:
		return fmt.Errorf("direction %q: must be forward, reverse or bidirectional", dir)
	}
	if layout != 0 && layout != 1 {
		return fmt.Errorf("layout %d: must be 0 or 1", layout)
	}
	G, F, D := op.Gates(), op.Funcs(), op.Dirs()

	x, err := c.in(0)
	if err != nil {
		return err
	}
	wt, err := c.typeOf(1)
	if err != nil {
		return err
	}
	rv, err := c.in(2)
	if err != nil {
		return err
	}
	xs, ws, rs := x.Type.Shape, wt.Shape, rv.Type.Shape
	if !x.Type.DType.IsFloat() {
		return unsupported("X of %s: RNN, GRU and LSTM take floats", x.Type.DType)
	}
	if xs.Rank() != 3 {
		return fmt.Errorf("X must be 3-D, got %s", xs)
	}
	if rs.Rank() != 3 || !rs.Static() {
		return unsupported("R of shape %s: it must be static [num_directions, %d·hidden_size, hidden_size]", rs, G)
	}
	if hidden == 0 {
		hidden = rs[2].B
	}
	H := hidden
	op.Hidden = H
	if hidden < 1 || !rs.Equal(ir.StaticShape(D, G*H, H)) {
		return fmt.Errorf("R must be [%d, %d, %d] for direction %s and hidden_size %d, got %s", D, G*H, H, dir, hidden, rs)
	}
	in := xs[2]
	if ws.Rank() != 3 || !ws.Static() || !ws[:2].Equal(ir.StaticShape(D, G*H)) || ws[2] != in {
		return fmt.Errorf("W must be [%d, %d, %s] for X %s, got %s", D, G*H, in, xs, ws)
	}
	if err := c.recurrentActs(op, F, D); err != nil {
		return err
	}

	// The input projection: X [.., .., I] · W[D·G·H, I]ᵀ.
	w2, err := c.flatWeights(1, D*G*H, in.B)
	if err != nil {
		return err
	}
	xw, err := c.tmp(&ir.Linear{}, x, w2)
	if err != nil {
		return err
	}
	ins := []*ir.Value{xw, rv}
	opt := func(i int, flag *bool) error {
		if !c.has(i) {
			return nil
		}
		v, err := c.in(i)
		if err != nil {
			return err
		}
		*flag = true
		ins = append(ins, v)
		return nil
	}
	if err := opt(3, &op.Bias); err != nil {
		return err
	}
	if c.has(4) && !c.allSteps(4, xs[layout]) {
		if err := opt(4, &op.SeqLens); err != nil {
			return err
		}
	}
	if err := opt(5, &op.InitH); err != nil {
		return err
	}
	if err := opt(6, &op.InitC); err != nil {
		return err
	}
	if err := opt(7, &op.Peep); err != nil {
		return err
	}
	nout := 2
	if cell == "lstm" {
		nout = 3
	}
	if c.nout() > nout {
		return fmt.Errorf("%s has %d outputs, got %d", opType, nout, c.nout())
	}
	n, err := c.im.b.Add(c.n.GetName(), op, ins, c.outNames(nout)...)
	if err != nil {
		return err
	}
	for i := 0; i < nout; i++ {
		c.set(i, n.Outputs[i])
	}
	return nil
}

// recurrentActs sets op's activations, alphas and betas from the node's
// attributes or the cell's defaults.
func (c *nodeCtx) recurrentActs(op *ir.Recurrent, F, D int) error {
	a, err := c.attr("activations", onnxpb.AttributeProto_STRINGS)
	if err != nil {
		return err
	}
	al, err := c.attr("activation_alpha", onnxpb.AttributeProto_FLOATS)
	if err != nil {
		return err
	}
	be, err := c.attr("activation_beta", onnxpb.AttributeProto_FLOATS)
	if err != nil {
		return err
	}
	var names []string
	for _, s := range a.GetStrings() {
		names = append(names, strings.ToLower(string(s)))
	}
	if a == nil {
		names = map[string][]string{"rnn": {"tanh"}, "gru": {"sigmoid", "tanh"}, "lstm": {"sigmoid", "tanh", "tanh"}}[op.Cell]
	}
	if len(names) != F && len(names) != F*D {
		return fmt.Errorf("activations: %s with %d direction(s) takes %d activations, got %d (%s)", c.n.GetOpType(), D, F*D, len(names), strings.Join(names, ", "))
	}
	alphas, betas := al.GetFloats(), be.GetFloats()
	var acts []string
	var alpha, beta []float64
	for _, nm := range names {
		if ir.RecurrentActCode(nm) < 0 {
			return unsupported("activation %q (supported: %s)", nm, strings.Join(ir.RecurrentActs, ", "))
		}
		usesA, usesB := false, false
		defA, defB := 0.0, 0.0
		switch nm {
		case "affine", "scaledtanh":
			usesA, usesB = true, true
		case "hardsigmoid":
			usesA, usesB, defA, defB = true, true, 0.2, 0.5
		case "leakyrelu":
			usesA, defA = true, 0.01
		case "elu":
			usesA, defA = true, 1
		case "thresholdedrelu":
			usesA = true
		}
		if usesA && len(alphas) > 0 {
			defA, alphas = float64(alphas[0]), alphas[1:]
		}
		if usesB && len(betas) > 0 {
			defB, betas = float64(betas[0]), betas[1:]
		}
		acts = append(acts, nm)
		alpha = append(alpha, defA)
		beta = append(beta, defB)
	}
	if len(alphas) > 0 || len(betas) > 0 {
		return fmt.Errorf("activation_alpha or activation_beta has %d or %d values more than the activations (%s) take", len(alphas), len(betas), strings.Join(names, ", "))
	}
	if len(acts) == F && D == 2 {
		acts, alpha, beta = append(acts, acts...), append(alpha, alpha...), append(beta, beta...)
	}
	op.Acts, op.Alpha, op.Beta = strings.Join(acts, ","), alpha, beta
	return nil
}

// flatWeights returns input i, of shape [D, G·H, I], as [rows, cols]: a
// constant reshaped at import time (so the linear's weights stay a
// constant that codegen packs), else a reshape.
func (c *nodeCtx) flatWeights(i, rows, cols int) (*ir.Value, error) {
	if vl := c.val(i); vl != nil && vl.konst != nil {
		t := *vl.konst
		t.Shape = []int{rows, cols}
		return c.konst(&t)
	}
	w, err := c.in(i)
	if err != nil {
		return nil, err
	}
	return c.tmp(&ir.Reshape{Shape: ir.StaticShape(rows, cols)}, w)
}

// allSteps reports whether input i (sequence_lens) is known at import
// time and says steps for every sequence.
func (c *nodeCtx) allSteps(i int, steps ir.Dim) bool {
	vl := c.val(i)
	if vl == nil || vl.konst == nil || !steps.Static() {
		return false
	}
	t := vl.konst.Dense()
	if !t.DType.IsInt() {
		return false
	}
	for _, v := range t.I {
		if v != int64(steps.B) {
			return false
		}
	}
	return true
}
