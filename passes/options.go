package passes

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/modelc/modelc/calib"
)

// Options are one pass's options as model.yaml gives them (plain YAML
// values), with the position of the pass and of each option so that a
// pass can name the line of a bad value. The zero Options has no options.
type Options struct {
	values map[string]any
	pos    map[string]string // option → "model.yaml:14:30"
	at     string            // the pass's position
}

// NewOptions wraps a pass's options; pos gives each option's position
// (missing ones fall back to at, the pass's).
func NewOptions(values map[string]any, at string, pos map[string]string) Options {
	return Options{values: values, pos: pos, at: at}
}

// Has reports whether the option is set.
func (o Options) Has(key string) bool { _, ok := o.values[key]; return ok }

// Pos is where an option was written (the pass's position if unknown).
func (o Options) Pos(key string) string {
	if p := o.pos[key]; p != "" {
		return p
	}
	return o.at
}

// Errorf is a user-input error about an option (key "" for the pass as a
// whole), at its model.yaml position. The pipeline adds the pass's name.
func (o Options) Errorf(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	return &InputError{Pos: o.Pos(key), Msg: msg}
}

// InputError is a mistake in what the user wrote (an option, the
// calibration data), at a model.yaml position; the pipeline reports it
// as "POS: pass NAME: MSG".
type InputError struct {
	Pos, Msg string
}

func (e *InputError) Error() string {
	if e.Pos == "" {
		return e.Msg
	}
	return e.Pos + ": " + e.Msg
}

// At returns the error's position and message apart.
func (e *InputError) At() (pos, msg string) { return e.Pos, e.Msg }

// positioned is an error at a model.yaml position (InputError,
// calib.BudgetError).
type positioned interface {
	error
	At() (pos, msg string)
}

// wrapPassError names the pass in err, keeping a positioned error's
// position first: "model.yaml:14:30: pass attention-drop: drop: …".
func wrapPassError(pass string, err error) error {
	var pe positioned
	if errors.As(err, &pe) {
		if pos, msg := pe.At(); pos != "" {
			return fmt.Errorf("%s: pass %s: %s", pos, pass, msg)
		}
	}
	return fmt.Errorf("pass %s: %w", pass, err)
}

// Int reads an integer option (def when absent).
func (o Options) Int(key string, def int) (int, error) {
	v, ok := o.values[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), nil
		}
	}
	return 0, o.Errorf(key, "want an integer, got %s", describe(v))
}

// Float reads a number option (def when absent).
func (o Options) Float(key string, def float64) (float64, error) {
	v, ok := o.values[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		// YAML 1.1 reads 1e-4 (no dot) as a string.
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	return 0, o.Errorf(key, "want a number, got %s", describe(v))
}

// Bool reads a true/false option (def when absent).
func (o Options) Bool(key string, def bool) (bool, error) {
	v, ok := o.values[key]
	if !ok {
		return def, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, o.Errorf(key, "want true or false, got %s", describe(v))
	}
	return b, nil
}

// Enum reads a string option that must be one of allowed (def when absent).
func (o Options) Enum(key, def string, allowed ...string) (string, error) {
	v, ok := o.values[key]
	if !ok {
		return def, nil
	}
	s, isStr := v.(string)
	if !isStr || !slices.Contains(allowed, s) {
		return "", o.Errorf(key, "want one of %s, got %s", strings.Join(allowed, ", "), describe(v))
	}
	return s, nil
}

// Ints reads an integer or a list of integers (nil when absent).
func (o Options) Ints(key string) ([]int, error) {
	v, ok := o.values[key]
	if !ok {
		return nil, nil
	}
	items, isList := v.([]any)
	if !isList {
		items = []any{v}
	}
	out := make([]int, len(items))
	for i, it := range items {
		sub := Options{values: map[string]any{key: it}, pos: o.pos, at: o.at}
		n, err := sub.Int(key, 0)
		if err != nil {
			return nil, o.Errorf(key, "want an integer or a list of integers, got %s", describe(v))
		}
		out[i] = n
	}
	return out, nil
}

// Budget reads max_metric_drop and strict: a lossy pass's accuracy budget
// (nil when max_metric_drop is not given).
func (o Options) Budget() (*calib.Budget, error) {
	strict, err := o.Bool("strict", false)
	if err != nil {
		return nil, err
	}
	if !o.Has("max_metric_drop") {
		if o.Has("strict") {
			return nil, o.Errorf("strict", "needs max_metric_drop (strict fails the build when no setting meets it)")
		}
		return nil, nil
	}
	b, err := o.Float("max_metric_drop", 0)
	if err != nil {
		return nil, err
	}
	if !(b >= 0 && b <= 1) {
		return nil, o.Errorf("max_metric_drop", "want a number in [0, 1], got %g", b)
	}
	return &calib.Budget{MaxDrop: b, Strict: strict, Pos: o.Pos("max_metric_drop")}, nil
}

// describe writes a plain YAML value for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// Strings reads a string or a list of strings (nil when absent).
func (o Options) Strings(key string) ([]string, error) {
	v, ok := o.values[key]
	if !ok {
		return nil, nil
	}
	items, isList := v.([]any)
	if !isList {
		items = []any{v}
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, isStr := it.(string)
		if !isStr {
			return nil, o.Errorf(key, "want a name or a list of names, got %s", describe(v))
		}
		out[i] = s
	}
	return out, nil
}
