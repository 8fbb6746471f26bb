package frontend

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// posError is a user-input error at a YAML position; decoders panic with
// it and Load recovers it, which keeps the schema code free of plumbing.
type posError struct{ err error }

func (d *decoder) failAt(n *node, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.line > 0 {
		line, col = n.line, n.col
	}
	panic(posError{fmt.Errorf("%s:%d:%d: %s", d.file, line, col, fmt.Sprintf(format, args...))})
}

// decoder reads the typed schema of model.yaml from a node tree.
type decoder struct {
	file string
	// metricDrops are the passes' max_metric_drop options seen so far,
	// which need calibration data.
	metricDrops []metricDrop
}

type metricDrop struct {
	pass string
	at   *node
}

// obj reads the fields of one mapping and reports unknown ones.
type obj struct {
	d    *decoder
	n    *node
	what string // e.g. `conv2d "conv1"`, for messages
	used map[string]bool
}

func (d *decoder) object(n *node, what string) *obj {
	if n.kind != mapNode {
		d.failAt(n, "%s: want a mapping, got %s", what, n.describe())
	}
	return &obj{d: d, n: n, what: what, used: map[string]bool{}}
}

func (o *obj) has(key string) bool { _, ok := o.n.fields[key]; return ok }

func (o *obj) get(key string) *node {
	o.used[key] = true
	return o.n.fields[key]
}

func (o *obj) fail(n *node, format string, args ...any) {
	o.d.failAt(n, "%s: %s", o.what, fmt.Sprintf(format, args...))
}

// done fails on keys nobody read.
func (o *obj) done(known ...string) {
	for _, k := range o.n.keys {
		if !o.used[k] {
			all := append([]string(nil), known...)
			for u := range o.used {
				all = append(all, u)
			}
			sort.Strings(all)
			all = dedup(all)
			o.fail(o.n.keyPos[k], "unknown key %q (want one of %s)", k, strings.Join(all, ", "))
		}
	}
}

func dedup(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func (o *obj) str(key, def string) string {
	n := o.get(key)
	if n == nil {
		return def
	}
	s, ok := n.value.(string)
	if n.kind != scalarNode || !ok {
		o.fail(n, "%s must be a string, got %s", key, n.describe())
	}
	return s
}

func (o *obj) mustStr(key string) string {
	if !o.has(key) {
		o.fail(o.n, "missing %s", key)
	}
	return o.str(key, "")
}

func (o *obj) integer(key string, def int) int {
	n := o.get(key)
	if n == nil {
		return def
	}
	return o.intOf(n, key)
}

func (o *obj) intOf(n *node, what string) int {
	switch v := n.value.(type) {
	case int64:
		return int(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v)
		}
	}
	o.fail(n, "%s must be an integer, got %s", what, n.describe())
	return 0
}

func (o *obj) float(key string, def float64) float64 {
	n := o.get(key)
	if n == nil {
		return def
	}
	switch v := n.value.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	case string:
		// YAML 1.1 reads 1e-4 (no dot) as a string; people write it anyway.
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	o.fail(n, "%s must be a number, got %s", key, n.describe())
	return 0
}

func (o *obj) boolean(key string, def bool) bool {
	n := o.get(key)
	if n == nil {
		return def
	}
	b, ok := n.value.(bool)
	if !ok {
		o.fail(n, "%s must be true or false, got %s", key, n.describe())
	}
	return b
}

// ints reads an int or a list of ints; a single int is repeated `repeat`
// times (kernel: 3 means [3, 3]).
func (o *obj) ints(key string, def []int, repeat int) []int {
	n := o.get(key)
	if n == nil {
		return def
	}
	if n.kind == scalarNode {
		v := o.intOf(n, key)
		out := make([]int, repeat)
		for i := range out {
			out[i] = v
		}
		return out
	}
	if n.kind != seqNode {
		o.fail(n, "%s must be an integer or a list of integers, got %s", key, n.describe())
	}
	out := make([]int, len(n.items))
	for i, it := range n.items {
		out[i] = o.intOf(it, key)
	}
	return out
}

// strs reads a string or a list of strings.
func (o *obj) strs(key string) []string {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if s, ok := n.value.(string); ok && n.kind == scalarNode {
		return []string{s}
	}
	if n.kind != seqNode {
		o.fail(n, "%s must be a name or a list of names, got %s", key, n.describe())
	}
	out := make([]string, len(n.items))
	for i, it := range n.items {
		s, ok := it.value.(string)
		if it.kind != scalarNode || !ok {
			o.fail(it, "%s must list names, got %s", key, it.describe())
		}
		out[i] = s
	}
	return out
}

// plain converts a node to the plain values ir.NewOp accepts.
func plain(n *node) any {
	switch n.kind {
	case seqNode:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = plain(it)
		}
		return out
	case mapNode:
		m := map[string]any{}
		for k, v := range n.fields {
			m[k] = plain(v)
		}
		return m
	}
	return n.value
}
