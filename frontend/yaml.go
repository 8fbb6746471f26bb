package frontend

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/modelc/modelc/internal/limits"
)

// node is a YAML value with its position, converted from go-yaml's AST so
// that the model decoder can name file:line:col in every error.
type node struct {
	line, col int
	kind      nodeKind
	keys      []string         // mapping keys in source order
	fields    map[string]*node // mapping values
	keyPos    map[string]*node // mapping keys' positions
	items     []*node          // sequence
	value     any              // scalar: string, int64, float64, bool or nil
}

type nodeKind int

const (
	scalarNode nodeKind = iota
	mapNode
	seqNode
)

func (n *node) describe() string {
	switch n.kind {
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a list"
	}
	switch v := n.value.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(n.value)
}

// parseYAML parses src into a node tree; errors carry file:line:col.
// The YAML parser's time and memory grow faster than the input with deep
// flow nesting (100 KB of brackets took a gigabyte), so the size and the
// nesting are bounded first (limits.YAMLBytes, limits.Nesting).
func parseYAML(file string, src []byte) (*node, error) {
	if len(src) > limits.YAMLBytes {
		return nil, fmt.Errorf("%s: %s, over the limit of %s for a model.yaml", file, limits.Size(float64(len(src))), limits.Size(limits.YAMLBytes))
	}
	if err := checkFlowNesting(file, src); err != nil {
		return nil, err
	}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("%s:1:1: want exactly one YAML document with a mapping", file)
	}
	return convert(file, f.Docs[0].Body, 0)
}

// checkFlowNesting scans src for flow collections ([…], {…}) nested more
// than limits.Nesting deep, before the parser sees them. It knows just
// enough YAML to stay off quoted strings and comments, and counts a
// bracket only where a flow collection can start (at a value's start, or
// inside another flow collection); a miscount can only let the parser
// see the input, whose nesting convert checks again.
func checkFlowNesting(file string, src []byte) error {
	line, col, depth := 1, 0, 0
	valueStart := true // where a flow collection may begin
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		switch {
		case c == '\n':
			line, col = line+1, 0
			valueStart = true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case c == '#' && (i == 0 || src[i-1] == ' ' || src[i-1] == '\t' || src[i-1] == '\n'):
			for i+1 < len(src) && src[i+1] != '\n' {
				i++
			}
			continue
		case (c == '"' || c == '\'') && valueStart:
			// A quoted scalar: skip to its closing quote ('' and \" escape).
			for i++; i < len(src); i++ {
				if src[i] == '\n' {
					line, col = line+1, 0
				} else {
					col++
				}
				if c == '"' && src[i] == '\\' {
					i++
					col++
					continue
				}
				if src[i] == c {
					if c == '\'' && i+1 < len(src) && src[i+1] == '\'' {
						i++
						col++
						continue
					}
					break
				}
			}
			valueStart = false
			continue
		case (c == '[' || c == '{') && (valueStart || depth > 0):
			depth++
			if depth > limits.Nesting {
				return fmt.Errorf("%s:%d:%d: collections nest more than %d deep (limits.Nesting)", file, line, col, limits.Nesting)
			}
			valueStart = true
			continue
		case (c == ']' || c == '}') && depth > 0:
			depth--
		}
		valueStart = c == ':' || c == '-' || c == ',' || c == '?' || c == '[' || c == '{'
	}
	return nil
}

// yamlSyntaxError rewrites go-yaml's message ("[3:5] ...", with a source
// excerpt) into "file:3:5: ...".
func yamlSyntaxError(file string, err error) error {
	msg := err.Error()
	first, _, _ := strings.Cut(msg, "\n")
	if strings.HasPrefix(first, "[") {
		if end := strings.Index(first, "]"); end > 0 {
			pos := first[1:end]
			if l, c, ok := strings.Cut(pos, ":"); ok {
				return fmt.Errorf("%s:%s:%s: %s", file, l, c, strings.TrimSpace(first[end+1:]))
			}
		}
	}
	return fmt.Errorf("%s: %s", file, first)
}

func pos(t *token.Token) (int, int) {
	if t == nil || t.Position == nil {
		return 0, 0
	}
	return t.Position.Line, t.Position.Column
}

func convert(file string, an ast.Node, depth int) (*node, error) {
	if an == nil {
		return &node{}, nil
	}
	l, c := pos(an.GetToken())
	n := &node{line: l, col: c}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d:%d: %s", file, l, c, fmt.Sprintf(format, args...))
	}
	if depth > limits.Nesting {
		return nil, fail("collections nest more than %d deep (limits.Nesting)", limits.Nesting)
	}
	switch x := an.(type) {
	case *ast.MappingNode:
		return convertMapping(file, n, x.Values, depth)
	case *ast.MappingValueNode:
		return convertMapping(file, n, []*ast.MappingValueNode{x}, depth)
	case *ast.SequenceNode:
		n.kind = seqNode
		n.items = []*node{}
		for _, v := range x.Values {
			item, err := convert(file, v, depth+1)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, item)
		}
	case *ast.StringNode:
		n.value = x.Value
	case *ast.LiteralNode:
		n.value = x.Value.Value
	case *ast.IntegerNode:
		switch v := x.Value.(type) {
		case int64:
			n.value = v
		case uint64:
			if v > math.MaxInt64 {
				return nil, fail("integer %d out of range", v)
			}
			n.value = int64(v)
		default:
			return nil, fail("unsupported integer %v", x.Value)
		}
	case *ast.FloatNode:
		n.value = x.Value
	case *ast.InfinityNode:
		n.value = x.Value
	case *ast.NanNode:
		n.value = math.NaN()
	case *ast.BoolNode:
		n.value = x.Value
	case *ast.NullNode:
		n.value = nil
	case *ast.TagNode:
		return nil, fail("YAML tags are not supported")
	case *ast.AnchorNode, *ast.AliasNode, *ast.MergeKeyNode:
		return nil, fail("YAML anchors and aliases are not supported; use blocks: and repeat: to share layers")
	default:
		return nil, fail("unsupported YAML construct %s", an.Type())
	}
	return n, nil
}

func convertMapping(file string, n *node, values []*ast.MappingValueNode, depth int) (*node, error) {
	n.kind = mapNode
	n.fields, n.keyPos = map[string]*node{}, map[string]*node{}
	for _, mv := range values {
		kl, kc := pos(mv.Key.GetToken())
		if n.line == 0 {
			n.line, n.col = kl, kc
		}
		var key string
		switch k := mv.Key.(type) {
		case *ast.StringNode:
			key = k.Value
		default:
			key = mv.Key.GetToken().Value
		}
		if _, dup := n.fields[key]; dup {
			return nil, fmt.Errorf("%s:%d:%d: key %q given twice", file, kl, kc, key)
		}
		v, err := convert(file, mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if v.line == 0 {
			v.line, v.col = kl, kc
		}
		n.keys = append(n.keys, key)
		n.fields[key] = v
		n.keyPos[key] = &node{line: kl, col: kc}
	}
	return n, nil
}
