package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelc/modelc/compile"
	"github.com/modelc/modelc/frontend"
	"github.com/modelc/modelc/frontend/tensorio"
	"github.com/modelc/modelc/internal/limits"
	"github.com/modelc/modelc/internal/match"
	"github.com/modelc/modelc/ir"
	"github.com/modelc/modelc/passes"
	"github.com/modelc/modelc/zoo"
)

// loadModel reads MODEL: a model.yaml or .onnx path, or zoo:NAME for a bundled one.
func loadModel(arg string, allowExternal bool, bind ...string) (*frontend.Model, error) {
	if name, ok := strings.CutPrefix(arg, "zoo:"); ok {
		if len(bind) > 0 {
			return nil, usageError{"--bind: zoo models have no inputs to bind"}
		}
		return frontend.LoadNamed(zoo.FS(), name)
	}
	bound, err := parseBindings(bind)
	if err != nil {
		return nil, err
	}
	switch filepath.Ext(arg) {
	case ".yaml", ".yml", ".onnx":
		return frontend.Load(arg, frontend.Options{AllowExternalPaths: allowExternal, Bind: bound})
	}
	return nil, fmt.Errorf("%s: MODEL must be a .yaml or .onnx file or zoo:NAME", arg)
}

// oneModel parses a command's flags and its single MODEL argument.
func oneModel(fs *flag.FlagSet, args []string, usageLine string, stdout io.Writer) (*frontend.Model, bool, error) {
	m, _, ok, err := oneModelArg(fs, args, usageLine, stdout)
	return m, ok, err
}

// oneModelArg is oneModel that also returns the MODEL argument.
func oneModelArg(fs *flag.FlagSet, args []string, usageLine string, stdout io.Writer) (*frontend.Model, string, bool, error) {
	allow := fs.Bool("allow-external-paths", false, "let the YAML name files outside its directory")
	extra := fs.String("passes", "", "user passes to run besides model.yaml's, comma-separated (e.g. attention-drop); options need model.yaml")
	exclude := fs.String("exclude-passes", "", "default passes not to run, comma-separated (bn-fold), besides model.yaml's exclude_passes")
	var bind multiFlag
	fs.Var(&bind, "bind", "fix an ONNX graph input at build time, as NAME=V,V,… or NAME=FILE.npy (repeat per input): for inputs that give a shape, axes or pads")
	help := fs.Bool("h", false, "show help")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, "", false, err
	}
	if *help {
		flagHelp(stdout, fs, usageLine)
		return nil, "", false, nil
	}
	if len(pos) != 1 {
		return nil, "", false, usageError{"usage: " + usageLine}
	}
	m, err := loadModel(pos[0], *allow, bind...)
	if err == nil && *extra != "" {
		m.Passes, err = flagPasses(m.File, m.Passes, *extra, "--passes", "names")
	}
	if err == nil && *exclude != "" {
		m.ExcludePasses, err = flagPasses(m.File, m.ExcludePasses, *exclude, "--exclude-passes", "excludes")
	}
	return m, pos[0], m != nil && err == nil, err
}

// flagPasses appends the passes a flag (--passes, --exclude-passes)
// names, comma-separated, to model.yaml's list of them; the pipeline
// checks the names as it does model.yaml's. Naming one twice, or one the
// model already lists, is a usage error.
func flagPasses(file string, have []frontend.PassSpec, list, flag, verb string) ([]frontend.PassSpec, error) {
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		for _, s := range have {
			if s.Name == name && s.Line == 0 {
				return nil, usageError{fmt.Sprintf("%s names %s twice", flag, name)}
			}
			if s.Name == name {
				return nil, usageError{fmt.Sprintf("%s %s: %s:%d:%d already %s it", flag, name, file, s.Line, s.Col, verb)}
			}
		}
		have = append(have, frontend.PassSpec{Name: name})
	}
	return have, nil
}

// warn prints what the passes warned about (a budget no setting met).
func warn(m *frontend.Model, res *compile.Result) {
	for _, w := range res.Warnings() {
		fmt.Fprintf(os.Stderr, "modelc: warning: %s: %s\n", m.File, w)
	}
}

func runInspect(args []string, stdout io.Writer) error {
	const u = "modelc inspect MODEL [--passes P,...] [--exclude-passes P,...] [--print-after PASS|all] [--data]"
	fs := newFlags("inspect", u)
	data := fs.Bool("data", false, "print every constant's data (default: up to 16 elements)")
	after := fs.String("print-after", "", "print the IR after this pass, or after every pass with all (default: the input IR and the final IR with its memory plan)")
	frontendOnly := fs.Bool("frontend", false, "print the IR as the frontend made it, before any pass")
	m, ok, err := oneModel(fs, args, u, stdout)
	if !ok {
		return err
	}
	opts := ir.PrintOptions{}
	if *data {
		opts.MaxData = -1
	}
	if *frontendOnly {
		return opts.Fprint(stdout, m.Graph)
	}
	res, err := compile.Lower(m, compile.Options{Run: passes.RunOptions{PrintAfter: *after, Out: stdout}})
	if err != nil {
		return err
	}
	warn(m, res)
	if *after != "" {
		return nil
	}
	if err := opts.Fprint(stdout, res.Graph); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\n// passes:")
	var ran, excluded []string
	for _, e := range res.Log {
		name := e.Pass
		if e.Default {
			name += " (default)"
			ran = append(ran, e.Pass)
		}
		fmt.Fprintf(stdout, "//   %-23s %s\n", name, e.Stats)
		for _, l := range strings.Split(strings.TrimRight(e.Report, "\n"), "\n") {
			if l != "" {
				fmt.Fprintln(stdout, "//     "+l)
			}
		}
	}
	for _, s := range m.ExcludePasses {
		excluded = append(excluded, s.Name)
	}
	fmt.Fprintf(stdout, "// default passes: %s ran", orNone(ran))
	if len(excluded) > 0 {
		fmt.Fprintf(stdout, "; %s excluded", strings.Join(excluded, ", "))
	}
	fmt.Fprintln(stdout, " (exclude with exclude_passes: in model.yaml or --exclude-passes)")
	fmt.Fprintln(stdout, "// memory plan:")
	for _, line := range strings.Split(strings.TrimSpace(res.Plan.String()), "\n") {
		fmt.Fprintln(stdout, "//   "+line)
	}
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func runRun(args []string, stdout io.Writer) error {
	const u = "modelc run MODEL [--passes P,...] [--exclude-passes P,...] [--input NAME=F.npy ... | --input F.npz | --input F.npy] [--out F.npz|F.npy] [--engine reference] [--batch B] [--labels F.npy]"
	fs := newFlags("run", u)
	var inputs multiFlag
	fs.Var(&inputs, "input", "an input as NAME=FILE.npy (repeat per input), one FILE.npz holding all inputs by name, or FILE.npy for a model with one input (default: the model's test vectors)")
	out := fs.String("out", "", "write the outputs to this .npz file (or .npy for a model with one output); an existing file must be a regular file, and a symlink is written through")
	engine := fs.String("engine", "reference", "reference (the IR evaluator, on the graph after the passes) or generated (the package modelc build writes, built offline with the Go toolchain and the runtime sources modelc carries)")
	batch := fs.Int("batch", 0, "run on seeded random inputs of this batch size instead")
	labels := fs.String("labels", "", "class labels (.npy, one integer per sample) to score the one output's argmax against: prints its top-1 accuracy")
	m, ok, err := oneModel(fs, args, u, stdout)
	if !ok {
		return err
	}
	if *engine != "reference" && *engine != "generated" {
		return usageError{fmt.Sprintf("--engine %s: want reference or generated", *engine)}
	}
	if err := checkBatch("--batch", *batch, true); err != nil {
		return err
	}
	var ins, want []*ir.Tensor
	switch {
	case *batch > 0:
		if err := checkSampleInputs(m, *batch); err != nil {
			return err
		}
		ins = ir.SampleInputs(m.Graph, *batch, 7)
	case len(inputs) > 0:
		if ins, err = readInputs(m, inputs); err != nil {
			return err
		}
	default:
		if ins, want, err = m.TestData(); err != nil {
			return fmt.Errorf("%w (give --input or --batch)", err)
		}
	}
	var outs []*ir.Tensor
	var elapsed time.Duration
	if *engine == "generated" {
		if outs, elapsed, err = runGenerated(m, ins); err != nil {
			return err
		}
	} else {
		batch, err := ir.CheckInputs(m.Graph, ins)
		if err != nil {
			return err
		}
		if err := checkEval(m, batch); err != nil {
			return err
		}
		// The graph after the pass pipeline, as the generated package
		// would run it (lossy passes included).
		res, err := compile.Lower(m, compile.Options{})
		if err != nil {
			return err
		}
		warn(m, res)
		start := time.Now()
		if outs, err = ir.Eval(res.Graph, ins...); err != nil {
			return err
		}
		elapsed = time.Since(start)
	}
	if *out != "" {
		if err := writeOutputs(m, outs, *out); err != nil {
			return err
		}
	}
	for i, v := range m.Graph.Outputs {
		fmt.Fprintf(stdout, "%s %s%v: %s\n", v.Name, outs[i].DType, outs[i].Shape, preview(outs[i]))
		if want != nil {
			rowLen := outs[i].Shape[len(outs[i].Shape)-1]
			r, err := match.Outputs(outs[i].F, want[i].F, rowLen, m.Test.Rtol)
			if err != nil {
				return fmt.Errorf("output %s does not match the test vectors: %w", v.Name, err)
			}
			fmt.Fprintf(stdout, "  matches test vectors (max error %.3g of rtol %g)\n", r.MaxErr, m.Test.Rtol)
		}
	}
	if *labels != "" {
		if err := printTop1(stdout, m, outs, *labels); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s engine: %v\n", *engine, elapsed.Round(time.Microsecond))
	return nil
}

// printTop1 scores the one output's per-row argmax against the labels
// file (modelc run --labels).
func printTop1(stdout io.Writer, m *frontend.Model, outs []*ir.Tensor, file string) error {
	if len(outs) != 1 || len(outs[0].Shape) != 2 || outs[0].F == nil {
		return usageError{fmt.Sprintf("--labels: the model needs one float output of shape [N, classes] to score, it has %d outputs", len(outs))}
	}
	arrays, err := frontend.ReadArrays(file, limits.DataBytes)
	if err != nil {
		return err
	}
	if len(arrays) != 1 {
		return fmt.Errorf("--labels %s: want one array of labels, got %d", file, len(arrays))
	}
	ls, err := arrays[0].Int64()
	rows, classes := outs[0].Shape[0], outs[0].Shape[1]
	if err != nil || len(ls) != rows {
		return fmt.Errorf("--labels %s: want %d integer labels (one per sample), got %s %v", file, rows, arrays[0].DType, arrays[0].Shape)
	}
	correct := 0
	for r := 0; r < rows; r++ {
		row := outs[0].F[r*classes : (r+1)*classes]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if int64(best) == ls[r] {
			correct++
		}
	}
	fmt.Fprintf(stdout, "top-1 accuracy: %.4f (%d of %d samples)\n", float64(correct)/float64(rows), correct, rows)
	return nil
}

// writeOutputs writes --out: every output by name into a .npz, or the one
// output of a single-output model into a .npy.
func writeOutputs(m *frontend.Model, outs []*ir.Tensor, file string) error {
	var arrays []tensorio.Array
	for i, v := range m.Graph.Outputs {
		arrays = append(arrays, frontend.FromTensor(v.Name, outs[i]))
	}
	switch {
	case strings.HasSuffix(file, ".npz"):
		return tensorio.WriteNpz(file, arrays)
	case strings.HasSuffix(file, ".npy") && len(arrays) == 1:
		arrays[0].Name = ""
		return tensorio.WriteNpy(file, arrays[0])
	case strings.HasSuffix(file, ".npy"):
		return fmt.Errorf("--out %s: the model has %d outputs; write them to a .npz", file, len(arrays))
	}
	return fmt.Errorf("--out %s: want a .npz file (or .npy for a model with one output)", file)
}

func preview(t *ir.Tensor) string {
	n := min(t.Numel(), 6)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%.5g", t.Float(i))
	}
	s := "[" + strings.Join(parts, " ")
	if t.Numel() > n {
		s += " ..."
	}
	return s + "]"
}

// readInputs reads --input values: NAME=F.npy each, one F.npz by name, or
// one F.npy for a model with one input. Files are read as a model's data
// files are: regular files only, at most limits.DataBytes once inflated.
func readInputs(m *frontend.Model, specs []string) ([]*ir.Tensor, error) {
	byName := map[string]*ir.Tensor{}
	for _, s := range specs {
		name, file, named := strings.Cut(s, "=")
		if !named {
			file = s
		}
		switch {
		case named && strings.HasSuffix(file, ".npy"),
			!named && strings.HasSuffix(file, ".npz"),
			!named && strings.HasSuffix(file, ".npy") && len(m.Graph.Inputs) == 1:
		case !named && strings.HasSuffix(file, ".npy"):
			return nil, usageError{fmt.Sprintf("--input %s: the model has %d inputs; name each (--input NAME=FILE.npy) or give one FILE.npz", s, len(m.Graph.Inputs))}
		default:
			return nil, usageError{fmt.Sprintf("--input %s: want NAME=FILE.npy, FILE.npz, or FILE.npy for a model with one input", s)}
		}
		arrays, err := frontend.ReadArrays(file, limits.DataBytes)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(file, ".npy") {
			if !named {
				name = m.Graph.Inputs[0].Name
			}
			arrays[0].Name = name
		}
		for _, a := range arrays {
			t, err := frontend.ToTensor(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", file, a.Name, err)
			}
			byName[a.Name] = t
		}
	}
	ins := make([]*ir.Tensor, len(m.Graph.Inputs))
	for i, v := range m.Graph.Inputs {
		if ins[i] = byName[v.Name]; ins[i] == nil {
			return nil, fmt.Errorf("no data for input %q %s", v.Name, ir.FormatType(v.Type))
		}
		delete(byName, v.Name)
	}
	for name := range byName {
		return nil, fmt.Errorf("the model has no input named %q", name)
	}
	return ins, nil
}

func runZoo(args []string, stdout io.Writer) error {
	const u = "modelc zoo list | modelc zoo build NAME [-o DIR] | modelc zoo export NAME -o DIR"
	fs := newFlags("zoo", u)
	outDir := fs.String("o", "", "directory to export into (created; must be empty)")
	help := fs.Bool("h", false, "show help")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *help || len(pos) == 0 {
		flagHelp(stdout, fs, u)
		return nil
	}
	switch {
	case pos[0] == "list" && len(pos) == 1:
		for _, name := range zoo.Names() {
			m, err := frontend.LoadNamed(zoo.FS(), name)
			if err != nil {
				return err
			}
			params := 0
			for _, c := range m.Graph.Consts {
				params += c.Const.Numel()
			}
			var ins []string
			for _, v := range m.Graph.Inputs {
				ins = append(ins, v.Name+": "+ir.FormatType(v.Type))
			}
			fmt.Fprintf(stdout, "%-9s %6.2fM params  %-28s %s\n", name, float64(params)/1e6, strings.Join(ins, ", "), zoo.Summary(name))
		}
		return nil
	case pos[0] == "build" && len(pos) == 2:
		m, err := frontend.LoadNamed(zoo.FS(), pos[1])
		if err != nil {
			return err
		}
		dir := *outDir
		if dir == "" {
			dir = m.Package
		}
		return build(m, dir, false, compile.Options{CommandArgs: []string{"modelc", "zoo", "build", pos[1], "-o", "."}}, stdout)
	case pos[0] == "export" && len(pos) == 2:
		if *outDir == "" {
			return usageError{"zoo export: give -o DIR"}
		}
		return exportZoo(pos[1], *outDir, stdout)
	}
	return usageError{"usage: " + u}
}

// exportZoo writes a zoo model's files plus its seeded weights as
// safetensors and the evaluator's outputs on its test inputs — what
// `make zoo-crosscheck` hands to PyTorch.
func exportZoo(name, dir string, stdout io.Writer) error {
	m, err := frontend.LoadNamed(zoo.FS(), name)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	yaml, err := m.ReadFile("model.yaml")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), yaml, 0o644); err != nil {
		return err
	}
	if err := tensorio.WriteSafetensors(filepath.Join(dir, "weights.safetensors"), m.Weights(), map[string]string{"modelc.zoo": name}); err != nil {
		return err
	}
	ins, _, err := m.TestData()
	if err != nil {
		return err
	}
	outs, err := ir.Eval(m.Graph, ins...)
	if err != nil {
		return err
	}
	if err := tensorio.WriteNpy(filepath.Join(dir, "inputs.npy"), frontend.FromTensor("", ins[0])); err != nil {
		return err
	}
	if err := tensorio.WriteNpy(filepath.Join(dir, "outputs.npy"), frontend.FromTensor("", outs[0])); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s to %s\n", name, dir)
	return nil
}

// parseBindings reads --bind values: NAME=V,V,… (numbers) or NAME=F.npy.
func parseBindings(specs []string) (map[string]*ir.Tensor, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := map[string]*ir.Tensor{}
	for _, s := range specs {
		name, val, ok := strings.Cut(s, "=")
		if !ok || name == "" || val == "" {
			return nil, usageError{fmt.Sprintf("--bind %s: want NAME=V,V,… or NAME=FILE.npy", s)}
		}
		if _, dup := out[name]; dup {
			return nil, usageError{fmt.Sprintf("--bind names %s twice", name)}
		}
		if strings.HasSuffix(val, ".npy") {
			// As every data file: a regular file, opened once, bounded.
			arrays, err := frontend.ReadArrays(val, limits.DataBytes)
			if err != nil {
				return nil, fmt.Errorf("--bind %s: %w", name, err)
			}
			t, err := frontend.ToTensor(arrays[0])
			if err != nil {
				return nil, fmt.Errorf("--bind %s: %s: %w", name, val, err)
			}
			out[name] = t
			continue
		}
		parts := strings.Split(val, ",")
		ints := make([]int64, len(parts))
		floats := make([]float32, len(parts))
		integral := true
		for i, p := range parts {
			p = strings.TrimSpace(p)
			if n, err := strconv.ParseInt(p, 10, 64); err == nil {
				ints[i], floats[i] = n, float32(n)
				continue
			}
			f, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return nil, usageError{fmt.Sprintf("--bind %s: %q is not a number", name, p)}
			}
			floats[i], integral = float32(f), false
		}
		t := &ir.Tensor{DType: ir.F32, Shape: []int{len(parts)}, F: floats}
		if integral {
			t = &ir.Tensor{DType: ir.I64, Shape: []int{len(parts)}, I: ints}
		}
		out[name] = t
	}
	return out, nil
}
