package onnx

import "sort"

// opEntry is one row of the op table: the opsets of the default domain
// whose semantics the importer implements (from min, the first version it
// knows, through max, the newest it was checked against), the importer,
// and optionally a folder that evaluates the op at import time when its
// inputs are integer shape math (shapeval.go).
type opEntry struct {
	min, max int
	fn       func(c *nodeCtx) error
	fold     func(c *nodeCtx) (bool, error)
}

// opTable maps ONNX op types to importers. Versions that change an op's
// semantics inside a range are handled by its importer (c.opset()).
var opTable = map[string]opEntry{
	// Dense algebra (ops_dense.go).
	"Gemm":          {6, MaxOpset, importGemm, nil},
	"MatMul":        {6, MaxOpset, importMatMul, nil},
	"Conv":          {6, MaxOpset, importConv, nil},
	"ConvTranspose": {6, MaxOpset, importConvTranspose, nil},

	// Normalisation (ops_norm.go).
	"BatchNormalization": {6, MaxOpset, importBatchNorm, nil},
	"LayerNormalization": {17, MaxOpset, importLayerNorm, nil},
	"Softmax":            {6, MaxOpset, importSoftmax, nil},
	"LogSoftmax":         {6, MaxOpset, importSoftmax, nil},

	// Elementwise (ops_elementwise.go).
	"Add":         {6, MaxOpset, importBinary, foldBinary},
	"Sub":         {6, MaxOpset, importBinary, foldBinary},
	"Mul":         {6, MaxOpset, importBinary, foldBinary},
	"Div":         {6, MaxOpset, importBinary, foldBinary},
	"Pow":         {6, MaxOpset, importBinary, nil},
	"Sum":         {6, MaxOpset, importSum, nil},
	"Relu":        {6, MaxOpset, importUnary, nil},
	"Sigmoid":     {6, MaxOpset, importUnary, nil},
	"Tanh":        {6, MaxOpset, importUnary, nil},
	"Erf":         {9, MaxOpset, importUnary, nil},
	"Exp":         {6, MaxOpset, importUnary, nil},
	"Log":         {6, MaxOpset, importUnary, nil},
	"Sqrt":        {6, MaxOpset, importUnary, nil},
	"Neg":         {6, MaxOpset, importUnary, nil},
	"Abs":         {6, MaxOpset, importUnary, nil},
	"LeakyRelu":   {6, MaxOpset, importLeakyRelu, nil},
	"HardSigmoid": {6, MaxOpset, importHardSigmoid, nil},
	"HardSwish":   {14, MaxOpset, importUnary, nil},
	"Gelu":        {20, MaxOpset, importGelu, nil},
	"Clip":        {6, MaxOpset, importClip, nil},
	"Where":       {9, MaxOpset, importWhere, foldWhere},
	"Cast":        {6, MaxOpset, importCast, foldCast},
	"Identity":    {6, MaxOpset, importIdentity, nil},
	"Dropout":     {6, MaxOpset, importDropout, nil},

	// Data movement (ops_data.go).
	"Reshape":         {6, MaxOpset, importReshape, foldReshape},
	"Flatten":         {6, MaxOpset, importFlatten, nil},
	"Transpose":       {6, MaxOpset, importTranspose, nil},
	"Squeeze":         {6, MaxOpset, importSqueeze, foldSqueeze},
	"Unsqueeze":       {6, MaxOpset, importUnsqueeze, foldUnsqueeze},
	"Concat":          {6, MaxOpset, importConcat, foldConcat},
	"Split":           {6, MaxOpset, importSplit, nil},
	"Slice":           {6, MaxOpset, importSlice, foldSlice},
	"Gather":          {6, MaxOpset, importGather, foldGather},
	"Expand":          {8, MaxOpset, importExpand, nil},
	"Shape":           {6, MaxOpset, importShape, nil},
	"Constant":        {6, MaxOpset, importConstant, nil},
	"ConstantOfShape": {9, MaxOpset, importConstantOfShape, nil},

	// Pooling and reductions (ops_pool.go).
	"MaxPool":           {6, MaxOpset, importMaxPool, nil},
	"AveragePool":       {6, MaxOpset, importAveragePool, nil},
	"GlobalAveragePool": {6, MaxOpset, importGlobalAveragePool, nil},
	"ReduceMean":        {6, MaxOpset, importReduce, nil},
	"ReduceSum":         {6, MaxOpset, importReduce, nil},
	"ReduceMax":         {6, MaxOpset, importReduce, nil},
	"ReduceMin":         {6, MaxOpset, importReduce, nil},
	"ReduceProd":        {6, MaxOpset, importReduce, nil},
	"ReduceL1":          {6, MaxOpset, importReduce, nil},
	"ReduceL2":          {6, MaxOpset, importReduce, nil},
	"ReduceLogSum":      {6, MaxOpset, importReduce, nil},
	"ReduceLogSumExp":   {6, MaxOpset, importReduce, nil},
	"ReduceSumSquare":   {6, MaxOpset, importReduce, nil},
	"GlobalMaxPool":     {6, MaxOpset, importGlobalMaxPool, nil},
	"LpPool":            {11, MaxOpset, importLpPool, nil},
	"LRN":               {1, MaxOpset, importLRN, nil},

	// Comparisons, logic, math, activations, selections (ops_math.go).
	"Equal":           {7, MaxOpset, importCompare, foldEqual},
	"Less":            {7, MaxOpset, importCompare, nil},
	"LessOrEqual":     {12, MaxOpset, importCompare, nil},
	"Greater":         {7, MaxOpset, importCompare, nil},
	"GreaterOrEqual":  {12, MaxOpset, importCompare, nil},
	"And":             {7, MaxOpset, importCompare, nil},
	"Or":              {7, MaxOpset, importCompare, nil},
	"Xor":             {7, MaxOpset, importCompare, nil},
	"BitwiseAnd":      {18, MaxOpset, importCompare, nil},
	"BitwiseOr":       {18, MaxOpset, importCompare, nil},
	"BitwiseXor":      {18, MaxOpset, importCompare, nil},
	"PRelu":           {6, MaxOpset, importCompare, nil},
	"Mod":             {10, MaxOpset, importMod, nil},
	"BitShift":        {11, MaxOpset, importBitShift, nil},
	"Min":             {6, MaxOpset, importVariadic, nil},
	"Max":             {6, MaxOpset, importVariadic, nil},
	"Mean":            {6, MaxOpset, importVariadic, nil},
	"Not":             {1, MaxOpset, importMath, nil},
	"BitwiseNot":      {18, MaxOpset, importMath, nil},
	"Sign":            {9, MaxOpset, importMath, nil},
	"Reciprocal":      {6, MaxOpset, importMath, nil},
	"Sin":             {7, MaxOpset, importMath, nil},
	"Cos":             {7, MaxOpset, importMath, nil},
	"Tan":             {7, MaxOpset, importMath, nil},
	"Asin":            {7, MaxOpset, importMath, nil},
	"Acos":            {7, MaxOpset, importMath, nil},
	"Atan":            {7, MaxOpset, importMath, nil},
	"Sinh":            {9, MaxOpset, importMath, nil},
	"Cosh":            {9, MaxOpset, importMath, nil},
	"Asinh":           {9, MaxOpset, importMath, nil},
	"Acosh":           {9, MaxOpset, importMath, nil},
	"Atanh":           {9, MaxOpset, importMath, nil},
	"Ceil":            {6, MaxOpset, importMath, nil},
	"Floor":           {6, MaxOpset, importMath, nil},
	"Round":           {11, MaxOpset, importMath, nil},
	"Softplus":        {6, MaxOpset, importMath, nil},
	"Softsign":        {6, MaxOpset, importMath, nil},
	"Mish":            {18, MaxOpset, importMath, nil},
	"IsNaN":           {9, MaxOpset, importMath, nil},
	"IsInf":           {10, MaxOpset, importActivation, nil},
	"Elu":             {6, MaxOpset, importActivation, nil},
	"Celu":            {12, MaxOpset, importActivation, nil},
	"Selu":            {6, MaxOpset, importActivation, nil},
	"ThresholdedRelu": {10, MaxOpset, importActivation, nil},
	"Shrink":          {9, MaxOpset, importActivation, nil},
	"Swish":           {24, MaxOpset, importActivation, nil},
	"CastLike":        {15, MaxOpset, importCastLike, nil},
	"Size":            {6, MaxOpset, importSize, nil},
	"ArgMax":          {6, MaxOpset, importArgReduce, nil},
	"ArgMin":          {6, MaxOpset, importArgReduce, nil},
	"TopK":            {6, MaxOpset, importTopK, nil},
	"Hardmax":         {6, MaxOpset, importHardmax, nil},
	"CumSum":          {11, MaxOpset, importCumulative, nil},
	"CumProd":         {26, MaxOpset, importCumulative, nil},

	// Indexing, generators, padding, rearrangements (ops_index.go).
	"Tile":            {6, MaxOpset, importTile, nil},
	"Trilu":           {14, MaxOpset, importTrilu, nil},
	"OneHot":          {9, MaxOpset, importOneHot, nil},
	"GatherElements":  {11, MaxOpset, importAxisOp, nil},
	"ScatterElements": {11, MaxOpset, importAxisOp, nil},
	"Scatter":         {9, 10, importAxisOp, nil},
	"GatherND":        {11, MaxOpset, importGatherND, nil},
	"ScatterND":       {11, MaxOpset, importScatterND, nil},
	"Einsum":          {12, MaxOpset, importEinsum, nil},
	"Range":           {11, MaxOpset, importRange, nil},
	"EyeLike":         {9, MaxOpset, importEyeLike, nil},
	"Pad":             {6, MaxOpset, importPad, nil},
	"DepthToSpace":    {6, MaxOpset, importDepthSpace, nil},
	"SpaceToDepth":    {6, MaxOpset, importDepthSpace, nil},

	// Gathers and scatters of computed indices (ops_scatter.go).
	"ReverseSequence": {10, MaxOpset, importReverseSequence, nil},
	"TensorScatter":   {24, MaxOpset, importTensorScatter, nil},
	"MaxUnpool":       {9, MaxOpset, importMaxUnpool, nil},
	"Col2Im":          {18, MaxOpset, importCol2Im, nil},

	// Quantisation and small compositions (ops_quant.go).
	"QuantizeLinear":        {10, MaxOpset, importQuantize, nil},
	"DequantizeLinear":      {10, MaxOpset, importDequantize, nil},
	"DynamicQuantizeLinear": {11, MaxOpset, importDynamicQuantize, nil},
	"QLinearMatMul":         {10, MaxOpset, importQLinearMatMul, nil},
	"MatMulInteger":         {10, MaxOpset, importMatMulInteger, nil},
	"CenterCropPad":         {18, MaxOpset, importCenterCropPad, nil},
	"SwiGLU":                {28, MaxOpset, importSwiGLU, nil},
	"BitCast":               {26, MaxOpset, importBitCast, nil},

	// Resize (ops_resize.go).
	"Resize":   {10, MaxOpset, importResize, nil},
	"Upsample": {7, 9, importResize, nil},

	// Sampling (ops_sample.go).
	"GridSample": {16, MaxOpset, importGridSample, nil},
	"AffineGrid": {20, MaxOpset, importAffineGrid, nil},
	"Det":        {11, MaxOpset, importDet, nil},

	// Attention (ops_attention.go), rotary embeddings (ops_rotary.go).
	"Attention":       {23, MaxOpset, importAttention, nil},
	"RotaryEmbedding": {23, MaxOpset, importRotary, nil},

	// Recurrences (ops_recurrent.go).
	"RNN":  {7, MaxOpset, importRecurrent, nil},
	"GRU":  {7, MaxOpset, importRecurrent, nil},
	"LSTM": {7, MaxOpset, importRecurrent, nil},

	// Normalisations built from reductions (ops_normalize.go).
	"RMSNormalization":          {23, MaxOpset, importRMSNorm, nil},
	"InstanceNormalization":     {6, MaxOpset, importInstanceNorm, nil},
	"GroupNormalization":        {18, MaxOpset, importGroupNorm, nil},
	"LpNormalization":           {6, MaxOpset, importLpNorm, nil},
	"MeanVarianceNormalization": {9, MaxOpset, importMVN, nil},
}

// supportedOps lists the op types the importer knows, sorted.
func supportedOps() []string {
	var s []string
	for k := range opTable {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
