package ir

import "reflect"

// Clone returns a copy of g that a pass pipeline may rewrite without
// changing g: new values (with their own shapes), nodes and op structs.
// Constant data is shared: passes make new constants rather than change
// one, and an op's slice attributes are shared too, as passes replace
// them rather than write into them.
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name}
	vals := map[*Value]*Value{}
	cp := func(v *Value) *Value {
		if v == nil {
			return nil
		}
		if w, ok := vals[v]; ok {
			return w
		}
		w := &Value{Name: v.Name, Type: v.Type, Const: v.Const}
		w.Type.Shape = v.Type.Shape.Clone()
		vals[v] = w
		return w
	}
	for _, v := range g.Inputs {
		c.Inputs = append(c.Inputs, cp(v))
	}
	for _, v := range g.Consts {
		c.Consts = append(c.Consts, cp(v))
	}
	for _, n := range g.Nodes {
		m := &Node{Name: n.Name, Op: cloneOp(n.Op)}
		for _, v := range n.Inputs {
			m.Inputs = append(m.Inputs, cp(v))
		}
		for _, v := range n.Outputs {
			w := cp(v)
			w.Def = m
			m.Outputs = append(m.Outputs, w)
		}
		c.Nodes = append(c.Nodes, m)
	}
	for _, v := range g.Outputs {
		c.Outputs = append(c.Outputs, cp(v))
	}
	return c
}

// cloneOp copies the struct behind a pointer op (value ops are copies).
func cloneOp(op Op) Op {
	rv := reflect.ValueOf(op)
	if rv.Kind() != reflect.Pointer {
		return op
	}
	c := reflect.New(rv.Elem().Type())
	c.Elem().Set(rv.Elem())
	return c.Interface().(Op)
}
