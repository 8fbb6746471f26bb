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
	"Gemm":          {6, 25, importGemm, nil},
	"MatMul":        {6, 25, importMatMul, nil},
	"Conv":          {6, 25, importConv, nil},
	"ConvTranspose": {6, 25, importConvTranspose, nil},

	// Normalisation (ops_norm.go).
	"BatchNormalization": {6, 25, importBatchNorm, nil},
	"LayerNormalization": {17, 25, importLayerNorm, nil},
	"Softmax":            {6, 25, importSoftmax, nil},
	"LogSoftmax":         {6, 25, importSoftmax, nil},

	// Elementwise (ops_elementwise.go).
	"Add":         {6, 25, importBinary, foldBinary},
	"Sub":         {6, 25, importBinary, foldBinary},
	"Mul":         {6, 25, importBinary, foldBinary},
	"Div":         {6, 25, importBinary, foldBinary},
	"Pow":         {7, 25, importBinary, nil},
	"Sum":         {6, 25, importSum, nil},
	"Relu":        {6, 25, importUnary, nil},
	"Sigmoid":     {6, 25, importUnary, nil},
	"Tanh":        {6, 25, importUnary, nil},
	"Erf":         {9, 25, importUnary, nil},
	"Exp":         {6, 25, importUnary, nil},
	"Log":         {6, 25, importUnary, nil},
	"Sqrt":        {6, 25, importUnary, nil},
	"Neg":         {6, 25, importUnary, nil},
	"Abs":         {6, 25, importUnary, nil},
	"LeakyRelu":   {6, 25, importLeakyRelu, nil},
	"HardSigmoid": {6, 25, importHardSigmoid, nil},
	"HardSwish":   {14, 25, importUnary, nil},
	"Gelu":        {20, 25, importGelu, nil},
	"Clip":        {6, 25, importClip, nil},
	"Where":       {9, 25, importWhere, nil},
	"Cast":        {6, 25, importCast, foldCast},
	"Identity":    {6, 25, importIdentity, nil},
	"Dropout":     {6, 25, importDropout, nil},

	// Data movement (ops_data.go).
	"Reshape":         {6, 25, importReshape, foldReshape},
	"Flatten":         {6, 25, importFlatten, nil},
	"Transpose":       {6, 25, importTranspose, nil},
	"Squeeze":         {6, 25, importSqueeze, foldSqueeze},
	"Unsqueeze":       {6, 25, importUnsqueeze, foldUnsqueeze},
	"Concat":          {6, 25, importConcat, foldConcat},
	"Split":           {6, 25, importSplit, nil},
	"Slice":           {6, 25, importSlice, foldSlice},
	"Gather":          {6, 25, importGather, foldGather},
	"Expand":          {8, 25, importExpand, nil},
	"Shape":           {6, 25, importShape, nil},
	"Constant":        {6, 25, importConstant, nil},
	"ConstantOfShape": {9, 25, importConstantOfShape, nil},

	// Pooling and reductions (ops_pool.go).
	"MaxPool":           {6, 25, importMaxPool, nil},
	"AveragePool":       {6, 25, importAveragePool, nil},
	"GlobalAveragePool": {6, 25, importGlobalAveragePool, nil},
	"ReduceMean":        {6, 25, importReduce, nil},
	"ReduceSum":         {6, 25, importReduce, nil},
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
