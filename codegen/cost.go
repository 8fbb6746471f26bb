package codegen

import "github.com/modelc/modelc/ir"

// stepCost is a node's FLOPs and bytes moved for the roofline that
// modelc bench --layers prints (ir.Cost).
func stepCost(n *ir.Node) (flops, bytes ir.Dim) { return ir.Cost(n) }
