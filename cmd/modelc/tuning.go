package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modelc/modelc/autotune"
	"github.com/modelc/modelc/autotune/db"
	"github.com/modelc/modelc/ir"
)

// tuneFlags are build's and bench's tuning database flags.
type tuneFlags struct {
	path       *string
	anyMachine *bool
}

func addTuneFlags(fs *flag.FlagSet) tuneFlags {
	return tuneFlags{
		path:       fs.String("tune-db", "", "tuning database to build with (default: this machine's, $XDG_CACHE_HOME/modelc/tune/MACHINE.jsonl, when modelc tune has written it; none: codegen's defaults)"),
		anyMachine: fs.Bool("tune-db-any-machine", false, "use a --tune-db written on another machine (its choices were fast there)"),
	}
}

// tuned is what a build takes from the tuning database.
type tuned struct {
	path    string
	d       *db.DB
	choices map[string]string // codegen's Input.Tuning
	chosen  []autotune.Chosen
	untuned map[string][]string // op → layers with no variant space yet
}

// hash is the database's hash for codegen ("" without one).
func (t *tuned) hash() string {
	if t == nil || t.d == nil {
		return ""
	}
	return t.d.Hash
}

// load reads the database for the compiled graph g. Without a database
// (none, or no file for this machine) it returns nil and says so on w.
func (f tuneFlags) load(g *ir.Graph, w io.Writer) (*tuned, error) {
	path := *f.path
	if path == "none" {
		return nil, nil
	}
	here := db.ThisMachine()
	explicit := path != ""
	if !explicit {
		p, err := db.DefaultPath(here)
		if err != nil {
			fmt.Fprintf(w, "tuning: %v: codegen's defaults\n", err)
			return nil, nil
		}
		path = p
	}
	d, err := db.Open(path, db.Options{Machine: here, AllowOther: *f.anyMachine})
	if errors.Is(err, db.ErrOtherMachine) {
		return nil, fmt.Errorf("%w (--tune-db-any-machine)", err)
	}
	if err != nil {
		return nil, err
	}
	for _, p := range d.ProblemLines() {
		fmt.Fprintln(os.Stderr, "tuning:", p)
	}
	if d.Missing {
		if explicit {
			return nil, fmt.Errorf("--tune-db %s: no such file", path)
		}
		fmt.Fprintf(w, "tuning: no database for this machine at %s (modelc tune MODEL writes it): codegen's defaults\n", path)
		return nil, nil
	}
	if d.Foreign {
		fmt.Fprintf(w, "tuning: using %s, the database of %s, on %s (asked with --tune-db-any-machine)\n", path, d.Machine, here)
	}
	t := &tuned{path: path, d: d}
	t.choices, t.chosen = autotune.Choices(d, g)
	_, t.untuned = autotune.Tasks(g, autotune.KernelTier(d.Machine.Tier), []int{1})
	return t, nil
}

// describe says which kernels take a tuned variant and which fell back
// to codegen's defaults, and why.
func (t *tuned) describe(w io.Writer) {
	if t == nil {
		return
	}
	fmt.Fprintf(w, "tuning: %s (%d records, sha256 %s): %d of %d kernels tuned\n", t.path, len(t.d.Records), short12(t.d.Hash), len(t.choices), len(t.chosen))
	for _, c := range t.chosen {
		k := c.Kernel.Family() + " " + c.Kernel.Shape()
		if c.Choice != "" {
			fmt.Fprintf(w, "  tuned   %s (%s): %s, %.2f× the default (batch %s)\n", k, short(c.Layers), c.Variant, c.Gain, strings.Join(c.Buckets, ", "))
		} else {
			fmt.Fprintf(w, "  default %s (%s): %s\n", k, short(c.Layers), c.Why)
		}
	}
	for _, op := range sortedKeys(t.untuned) {
		fmt.Fprintf(w, "  default %s (%d layers): no variant space yet\n", op, len(t.untuned[op]))
	}
}
