// Command modelc compiles models into Go packages. This is the thin CLI:
// it parses flags and calls the library; see README.md and
// docs/design.md for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand: its usage line, summary and entry point.
type command struct {
	name, usage, summary string
	run                  func(args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"inspect", "modelc inspect MODEL [--passes P,...] [--exclude-passes P,...] [--print-after PASS|all] [--frontend] [--data]", "print the model's IR after the pass pipeline (or after each pass)", runInspect},
		{"build", "modelc build MODEL [--passes P,...] [--exclude-passes P,...] [-o DIR] [--force] [--max-batch B] [--target T,...] [--external-weights]", "compile the model into a Go package", runBuild},
		{"bench", "modelc bench MODEL [--passes P,...] [--exclude-passes P,...] [--build NAME[=passes:P,...|config:C|dir:DIR] ...] [--batch 1,32] [--threads 1,2] [--peers torch,ort] [--seconds 2] [--rounds 3] [--flush] [--layers] [--report FILE]\n           " + gemmUsage, "time the generated package beside PyTorch and ONNX Runtime, or one GEMM beside OpenBLAS and gonum, in the same run", runBench},
		{"run", "modelc run MODEL [--passes P,...] [--exclude-passes P,...] [--input NAME=F.npy ... | --input F.npz | --input F.npy] [--out F.npz|F.npy] [--engine reference] [--batch B] [--labels F.npy]", "run the model on inputs (default: its test vectors) and print or save the outputs", runRun},
		{"version", "modelc version (or modelc --version)", "print modelc's version, the Go version it was built with and the CPU tier here", runVersion},
		{"zoo", "modelc zoo list | modelc zoo build NAME -o DIR | modelc zoo export NAME -o DIR", "list the bundled models, build one into a Go package, or export one (model.yaml, weights.safetensors, inputs.npy, outputs.npy)", runZoo},
	}
}

func main() {
	// A panic is a bug in modelc; the user gets one line saying so, not a
	// stack trace (MODELC_TRACEBACK=1 keeps it, for a bug report).
	if os.Getenv("MODELC_TRACEBACK") == "" {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(os.Stderr, "modelc: internal error: %v\n(this is a bug in modelc: please report it with the command; MODELC_TRACEBACK=1 prints the stack)\n", r)
				os.Exit(3)
			}
		}()
	}
	if err := dispatch(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "modelc:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usage(w io.Writer) {
	fmt.Fprintln(w, "modelc compiles models (model.yaml) into Go packages.\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n           %s\n", c.name, c.summary, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'modelc COMMAND -h' for a command's flags.")
}

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(args[1:], stdout)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout)
		}
	}
	if args[0] == "peer" { // modelc bench's child processes; not listed
		return runPeer(args[1:], stdout)
	}
	var sb strings.Builder
	usage(&sb)
	return usageError{fmt.Sprintf("unknown command %q\n\n%s", args[0], sb.String())}
}

// parseInterspersed parses flags that may come before or after positional
// arguments (Go's flag package stops at the first positional), so that
// `modelc run m.yaml --engine reference` works. "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			// -help and --help, which flag reports as ErrHelp, mean -h.
			if h := fs.Lookup("h"); h != nil && errors.Is(err, flag.ErrHelp) {
				return pos, h.Value.Set("true")
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse consumed a "--" if it stopped there: everything after is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlags(name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	_ = usageLine
	return fs
}

// flagHelp prints a command's usage and flags.
func flagHelp(w io.Writer, fs *flag.FlagSet, usageLine string) {
	fmt.Fprintf(w, "usage: %s\n\nflags:\n", usageLine)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
