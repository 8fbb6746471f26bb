package passes

// All is the pass registry: every pass once, in pipeline order. It is the
// only place that knows the order. User passes land between dce and
// fuse-epilogue in the order the design fixes: bn-fold (BN rules, RepBN,
// RepVGG merge, LayerNorm affine) before attention-drop (which measures
// the folded graph), before kronecker (which approximates what remains),
// before quantize (which must see the final weights).
var All = []Pass{
	{Name: "canonicalize", Phase: Prepare, Exact: true, Run: canonicalize,
		Summary: "rewrite equivalent forms into one (flatten → reshape, reshape chains, identity transposes and casts)"},
	{Name: "const-fold", Phase: Prepare, Exact: true, Run: constFold,
		Summary: "evaluate nodes whose inputs are all constants; uniform results become splats"},
	{Name: "dce", Phase: Prepare, Exact: true, Run: deadCode,
		Summary: "remove nodes and constants that no output depends on"},
	{Name: "bn-fold", Phase: User, Exact: true, Default: true, Run: bnFold,
		Summary: "fold BatchNorm and RepBN into adjacent linears and convs, and merge RepVGG branches into one conv"},
	{Name: "attention-drop", Phase: User, Run: attentionDrop,
		Options: []string{"target", "drop", "threshold", "mode", "max_metric_drop", "strict", "protect"},
		Summary: "remove the residual attention, MLP or whole-block regions that change the hidden state least on the calibration data (lossy)"},
	{Name: "quantize", Phase: User, Run: quantize,
		Options: []string{"scheme", "bits", "weights", "per_channel", "activations", "percentile", "hist_bins", "res", "kl_eps", "min_sqnr_db", "asymmetric", "all_layers", "keep_float", "max_metric_drop", "strict"},
		Summary: "run linears and convolutions on int8/int16 with fixed-point or affine formats chosen on the calibration data; requantize in the integer epilogue (lossy)"},
	{Name: "kronecker", Phase: User, Run: kronecker,
		Options: []string{"layers", "n", "shape", "max_rank", "max_rel_error", "max_output_rel_error", "max_metric_drop", "strict", "execution"},
		Summary: "store linear and conv weights as sums of Kronecker products (PHM), the smallest rank within an error budget (lossy), or write factored layers dense (execution: materialized)"},
	{Name: "fuse-epilogue", Phase: Lower, Exact: true, Run: fuseEpilogue,
		Summary: "fold a residual add and relu/gelu into the linear or conv2d before them"},
	{Name: "layout-assign", Phase: Lower, Exact: true, Run: layoutAssign,
		Summary: "give convolutional activations the NHWC layout, with explicit relayouts where a reader needs NCHW"},
	{Name: "bn-prologue", Phase: Lower, Exact: true, Run: bnPrologue,
		Summary: "move the BatchNorms bn-fold keeps (before a padded conv, or an activation) into the NHWC convs that read them, as a prologue their band copy applies"},
	{Name: "memory-plan", Phase: Lower, Exact: true, Run: memoryPlan,
		Summary: "compute buffer lifetimes, views and sizes (affine in N) for the arena"},
}

// planned lists user passes that are designed but not implemented yet, in
// their pipeline order, so model.yaml gets a clear message.
var planned = []string{}

// Lookup finds a pass by name.
func Lookup(name string) (*Pass, bool) {
	for i := range All {
		if All[i].Name == name {
			return &All[i], true
		}
	}
	return nil, false
}
