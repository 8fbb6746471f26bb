// Package zoo bundles modelc's reference models: model.yaml files with
// seeded weights and batch-2 test vectors from the reference evaluator.
// The files are embedded, so the modelc binary carries the zoo.
package zoo

import (
	"bufio"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/ir"
)

//go:embed */model.yaml */*.npy
var files embed.FS

// FS is the zoo's files: NAME/model.yaml and its data.
func FS() fs.FS { return files }

// Names lists the bundled models, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Load reads a bundled model by name.
func Load(name string) (*frontend.Model, error) {
	for _, n := range Names() {
		if n == name {
			return frontend.LoadFS(files, name+"/model.yaml")
		}
	}
	return nil, fmt.Errorf("no zoo model %q (have %s)", name, strings.Join(Names(), ", "))
}

// Summary is the first comment line of a model's YAML.
func Summary(name string) string {
	data, err := fs.ReadFile(files, name+"/model.yaml")
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	if sc.Scan() {
		return strings.TrimSpace(strings.TrimPrefix(sc.Text(), "#"))
	}
	return ""
}

// SampleInputs makes deterministic inputs for g at the given batch: N(0,1)
// floats, and integer ids uniform below the vocabulary of the embedding
// that reads them (or 2 if none does).
func SampleInputs(g *ir.Graph, batch int, seed uint64) []*ir.Tensor {
	vocab := map[*ir.Value]int{}
	for _, n := range g.Nodes {
		if n.Op.Kind() == ir.KEmbedding {
			vocab[n.Inputs[0]] = n.Inputs[1].Type.Shape[0].B
		}
	}
	out := make([]*ir.Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		h := fnv.New64a()
		h.Write([]byte(v.Name))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.At(batch))
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
