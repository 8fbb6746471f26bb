// Package zoo bundles modelc's reference models: model.yaml files with
// seeded weights and batch-2 test vectors from the reference evaluator.
// The files are embedded, so the modelc binary carries the zoo. The
// package imports nothing of modelc: frontend.LoadFS(zoo.FS(), …) reads a
// model.
package zoo

import (
	"bufio"
	"embed"
	"io/fs"
	"sort"
	"strings"
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

// Summary is the first comment line of a model's YAML.
func Summary(name string) string {
	data, err := fs.ReadFile(files, name+"/model.yaml")
	if err != nil {
		return ""
	}
	// The leading comment block, joined, up to its first sentence.
	var parts []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() && strings.HasPrefix(sc.Text(), "#") {
		parts = append(parts, strings.TrimSpace(strings.TrimPrefix(sc.Text(), "#")))
	}
	s := strings.Join(parts, " ")
	if i := strings.Index(s, ": "); i > 0 {
		s = s[:i]
	}
	return s
}
