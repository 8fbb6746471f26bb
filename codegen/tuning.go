package codegen

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/modelc/modelc/codegen/gemm"
	"github.com/modelc/modelc/codegen/isa"
)

// tuning holds the autotuner's choices (Input.Tuning) and what the
// generators made of them, for REPORT.md.
type tuning struct {
	choices map[string]string
	used    map[string]string // kernel key → the choice applied
	ignored map[string]string // kernel key → why a choice was not applied
}

// linearKey is the tuning database's name of the Linear kernel of weights
// [n, k] at a tier: its family and shape.
func linearKey(tier string, n, k int) string { return fmt.Sprintf("linear.%s n%d_k%d", tier, n, k) }

// tuneLinear applies the tuner's choice for weights [n, k], if any, to
// the pure-Go kernel's parameters p and the vector kernels' spec: the
// panel width (the packing every tier reads), the pure-Go tile and K
// blocking (tier generic) or one tier's register tile.
func (t *tuning) tuneLinear(n, k int, p *gemm.Params, spec *isa.LinearSpec) {
	if t == nil {
		return
	}
	for _, tier := range tunedTiers() {
		key := linearKey(tier, n, k)
		v, ok := t.choices[key]
		if !ok {
			continue
		}
		q, s, err := applyLinear(tier, v, *p, *spec)
		if err != nil {
			t.ignored[key] = err.Error()
			continue
		}
		*p, *spec = q, s
		t.used[key] = v
		return
	}
}

// tunedTiers are the tiers a Linear choice may name: every target's,
// then the pure-Go kernel's (generic).
func tunedTiers() []string {
	var tiers []string
	for _, t := range targets {
		for _, tier := range t.Tiers() {
			tiers = append(tiers, tier.Name)
		}
	}
	return append(tiers, "generic")
}

// applyLinear returns p and spec with choice v ("pw=32,mr=10") of tier.
func applyLinear(tier, v string, p gemm.Params, spec isa.LinearSpec) (gemm.Params, isa.LinearSpec, error) {
	var tile []string
	for _, f := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(f, "=")
		x, err := strconv.Atoi(val)
		if !ok || err != nil {
			return p, spec, fmt.Errorf("choice %q: %q is not name=integer", v, f)
		}
		switch {
		case name == "pw":
			p.PW = x
		case tier == "generic" && name == "mr":
			p.MR = x
		case tier == "generic" && name == "nr":
			p.NR = x
		case tier == "generic" && name == "kc":
			p.KC = x
		case tier == "generic" && name == "ku":
			p.KU = x
		case tier != "generic" && (name == "mr" || name == "nv"):
			tile = append(tile, f)
		default:
			return p, spec, fmt.Errorf("choice %q: unknown parameter %s for tier %s", v, name, tier)
		}
	}
	if err := p.Validate(); err != nil {
		return p, spec, fmt.Errorf("choice %q: %v", v, err)
	}
	if p.Panel()%16 != 0 {
		return p, spec, fmt.Errorf("choice %q: panel width %d is not a multiple of 16", v, p.Panel())
	}
	spec.PW = p.Panel()
	if len(tile) > 0 {
		spec.Tile = tier + ":" + strings.Join(tile, ",")
	}
	return p, spec, nil
}

// report is REPORT.md's section on tuning.
func (t *tuning) report(db string) string {
	if t == nil || (db == "" && len(t.choices) == 0) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Tuning\n\nTuning database sha256 `%s`: %d kernel choice(s) given, %d applied.\n\n", db, len(t.choices), len(t.used))
	if len(t.used) > 0 {
		b.WriteString("| kernel | choice |\n| --- | --- |\n")
		for _, k := range slices.Sorted(maps.Keys(t.used)) {
			fmt.Fprintf(&b, "| %s | %s |\n", k, t.used[k])
		}
		b.WriteString("\n")
	}
	for _, k := range slices.Sorted(maps.Keys(t.ignored)) {
		fmt.Fprintf(&b, "- not applied: %s: %s\n", k, t.ignored[k])
	}
	if len(t.ignored) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
