package ir

import (
	"hash/fnv"
	"math/rand/v2"
)

// SampleInputs makes deterministic inputs for g at the given batch: N(0,1)
// floats, and integer ids uniform below the vocabulary of the embedding
// that reads them (or 2 if none does).
func SampleInputs(g *Graph, batch int, seed uint64) []*Tensor {
	vocab := map[*Value]int{}
	for _, n := range g.Nodes {
		if n.Op.Kind() == KEmbedding {
			vocab[n.Inputs[0]] = n.Inputs[1].Type.Shape[0].B
		}
	}
	out := make([]*Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		h := fnv.New64a()
		h.Write([]byte(v.Name))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		t := NewTensor(v.Type.DType, v.Type.Shape.At(batch))
		for j := range t.F {
			t.F[j] = float32(r.NormFloat64())
		}
		hi := vocab[v]
		if hi == 0 {
			hi = 2
		}
		for j := range t.I {
			t.I[j] = int64(r.IntN(hi))
		}
		out[i] = t
	}
	return out
}
