package ir

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Ident is a bare word in attribute position (f32, inf, N), as the IR
// parser reads it; SetAttr converts it by the field's type.
type Ident string

var (
	negInf = math.Inf(-1)
	posInf = math.Inf(1)
)

type attrField struct {
	name  string
	index []int // field path, through embedded structs such as Epilogue
}

// attrFields lists op's tagged fields in declaration order.
func attrFields(t reflect.Type) []attrField {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var fs []attrField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := f.Tag.Get("attr"); tag != "" {
			fs = append(fs, attrField{tag, []int{i}})
		} else if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for _, sub := range attrFields(f.Type) {
				fs = append(fs, attrField{sub.name, append([]int{i}, sub.index...)})
			}
		}
	}
	return fs
}

// AttrNames lists the attribute names op accepts.
func AttrNames(op Op) []string {
	var s []string
	for _, f := range attrFields(reflect.TypeOf(op)) {
		s = append(s, f.name)
	}
	return s
}

// Attrs returns op's attributes by name, as plain Go values.
func Attrs(op Op) map[string]any {
	m := map[string]any{}
	v := reflect.Indirect(reflect.ValueOf(op))
	for _, f := range attrFields(v.Type()) {
		m[f.name] = v.FieldByIndex(f.index).Interface()
	}
	return m
}

// SetAttr sets attribute name of op to val, converting JSON-ish and parsed
// values to the field's type. It returns the (possibly new) op.
func SetAttr(op Op, name string, val any) (Op, error) {
	rv := reflect.ValueOf(op)
	if rv.Kind() != reflect.Pointer {
		return nil, fmt.Errorf("%s has no attributes (got %q)", op.Kind(), name)
	}
	ev := rv.Elem()
	for _, f := range attrFields(ev.Type()) {
		if f.name != name {
			continue
		}
		fv := ev.FieldByIndex(f.index)
		if err := setValue(fv, val); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		return op, nil
	}
	known := AttrNames(op)
	if len(known) == 0 {
		return nil, fmt.Errorf("%s has no attributes (got %q)", op.Kind(), name)
	}
	return nil, fmt.Errorf("unknown attribute %q (want one of %s)", name, strings.Join(known, ", "))
}

var (
	shapeType = reflect.TypeOf(Shape(nil))
	dtypeType = reflect.TypeOf(DType(0))
)

func setValue(fv reflect.Value, val any) error {
	switch fv.Type() {
	case shapeType:
		list, ok := toList(val)
		if !ok {
			return fmt.Errorf("want a list of dimensions, got %v", val)
		}
		s := make(Shape, len(list))
		for i, e := range list {
			d, err := toDim(e)
			if err != nil {
				return err
			}
			s[i] = d
		}
		fv.Set(reflect.ValueOf(s))
		return nil
	case dtypeType:
		s, ok := toString(val)
		if !ok {
			return fmt.Errorf("want a dtype name, got %v", val)
		}
		dt, ok := ParseDType(s)
		if !ok {
			return fmt.Errorf("unknown dtype %q", s)
		}
		fv.Set(reflect.ValueOf(dt))
		return nil
	}
	switch fv.Kind() {
	case reflect.Int:
		i, ok := toInt(val)
		if !ok {
			return fmt.Errorf("want an integer, got %v", val)
		}
		fv.SetInt(int64(i))
	case reflect.Float64:
		f, ok := toFloat(val)
		if !ok {
			return fmt.Errorf("want a number, got %v", val)
		}
		fv.SetFloat(f)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			if id, isID := val.(Ident); isID && (id == "true" || id == "false") {
				b, ok = id == "true", true
			}
		}
		if !ok {
			return fmt.Errorf("want true or false, got %v", val)
		}
		fv.SetBool(b)
	case reflect.String:
		s, ok := toString(val)
		if !ok {
			return fmt.Errorf("want a string, got %v", val)
		}
		fv.SetString(s)
	case reflect.Slice: // []int or []float64
		list, ok := toList(val)
		if !ok {
			return fmt.Errorf("want a list of numbers, got %v", val)
		}
		if fv.Type().Elem().Kind() == reflect.Float64 {
			out := make([]float64, len(list))
			for i, e := range list {
				f, ok := toFloat(e)
				if !ok {
					return fmt.Errorf("want a list of numbers, got %v", val)
				}
				out[i] = f
			}
			fv.Set(reflect.ValueOf(out))
			return nil
		}
		out := make([]int, len(list))
		for i, e := range list {
			n, ok := toInt(e)
			if !ok {
				return fmt.Errorf("want a list of integers, got %v", val)
			}
			out[i] = n
		}
		fv.Set(reflect.ValueOf(out))
	default:
		return fmt.Errorf("unsupported attribute type %s", fv.Type())
	}
	return nil
}

func toList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []int:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	case []int64:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	case []float64:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	case Shape:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	}
	return nil, false
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) <= 1<<62 {
			return int(n), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case Ident:
		switch n {
		case "inf", "+inf":
			return posInf, true
		case "-inf":
			return negInf, true
		case "nan":
			return math.NaN(), true
		}
	case string:
		return toFloat(Ident(n))
	}
	return 0, false
}

func toString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case Ident:
		return string(s), true
	case DType:
		return s.String(), true
	}
	return "", false
}

func toDim(v any) (Dim, error) {
	switch d := v.(type) {
	case Dim:
		return d, nil
	case Ident:
		return ParseDim(string(d))
	case string:
		return ParseDim(d)
	}
	if n, ok := toInt(v); ok {
		return D(n), nil
	}
	return Dim{}, fmt.Errorf("want a dimension, got %v", v)
}

// formatAttrs prints op's attributes as "{a=1, b=[2,3]}", leaving out
// those equal to the op's defaults, or "" if none is left.
func formatAttrs(op Op) string {
	v := reflect.Indirect(reflect.ValueOf(op))
	fs := attrFields(v.Type())
	if len(fs) == 0 {
		return ""
	}
	def := reflect.Indirect(reflect.ValueOf(ops[op.Kind()].New()))
	var parts []string
	for _, f := range fs {
		val := v.FieldByIndex(f.index).Interface()
		if reflect.DeepEqual(val, def.FieldByIndex(f.index).Interface()) {
			continue
		}
		parts = append(parts, f.name+"="+formatAttr(val))
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func formatAttr(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x)
	case float64:
		return FormatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return strconv.Quote(x)
	case []int:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.Itoa(n)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case []float64:
		parts := make([]string, len(x))
		for i, f := range x {
			parts[i] = FormatFloat(f)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case Shape:
		return x.String()
	case DType:
		return x.String()
	}
	panic(fmt.Sprintf("BUG: ir: no printer for attribute type %T", v))
}

// FormatFloat prints f so that parsing gives back the same float64, with
// inf, -inf and nan as words and always a '.' or exponent so it reads as a
// float.
func FormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}
