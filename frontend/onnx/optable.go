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
	"Pow":         {7, MaxOpset, importBinary, nil},
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
	"Where":       {9, MaxOpset, importWhere, nil},
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
