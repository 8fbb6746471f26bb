package codegen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/modelc/modelc/runtime"
)

// The weights file: weights.bin is always written in runtime's weights
// file format (a header, then the weights), embedded in the package by
// default and read at run time with WithWeightsFile (memory-mapped) when
// the package is built with Input.ExternalWeights or given another
// build's file. The header carries the code hash: the SHA-256 of the
// package's code (its .go and .s files less tests and the lines that
// record the inputs' hash or the go:generate command), the same for two
// builds exactly when their code, and so the layout it reads, is the
// same: a model's fine-tune built by the same modelc fits its package.

// codeHashPlaceholder stands in model.go for the code hash until it is
// computed over the code that holds it.
const codeHashPlaceholder = "modelc:code-hash"

// weightsDecls emits the weights' declarations in model.go: weightsBin
// (embedded unless ExternalWeights), codeHash and WithWeightsFile.
func (g *gen) weightsDecls(f *jen.File) {
	if g.in.ExternalWeights {
		f.Comment("weightsBin is empty: this package was built with --external-weights, so")
		f.Comment("New needs WithWeightsFile (the package's weights.bin, or another build's).")
		f.Var().Id("weightsBin").String()
		f.Comment("defaultWeightsFile is the file New reads without WithWeightsFile (set by tests).")
		f.Var().Id("defaultWeightsFile").String()
	} else {
		f.Anon("embed")
		f.Comment("go:embed keeps the weights in the binary's read-only data; New uses")
		f.Comment("them in place when aligned, so start-up copies nothing.")
		f.Comment("")
		f.Comment("//go:embed weights.bin")
		f.Var().Id("weightsBin").String()
	}
	f.Comment("codeHash is the SHA-256 of this package's code: a weights file fits it when its")
	f.Comment("header holds the same hash.")
	f.Const().Id("codeHash").Op("=").Lit(codeHashPlaceholder)
	f.Comment("WithWeightsFile makes New read the weights from a weights.bin file (memory-mapped")
	f.Comment("where the system can) instead of the embedded ones: this package's own, or that of")
	f.Comment("a build of the same model with other weights (a fine-tune). A file written for other")
	f.Comment("code, truncated or corrupt makes New return an error.")
	f.Func().Id("WithWeightsFile").Params(jen.Id("path").String()).Id("Option").Block(
		jen.Return(jen.Func().Params(jen.Id("o").Op("*").Id("options")).Block(jen.Id("o").Dot("weightsFile").Op("=").Id("path"))),
	)
}

// newWeights is New's code that sets w, the Model's weights: from the
// file WithWeightsFile names, copied (withCopiedWeights), or the
// embedded ones shared by every Model of the process.
func (g *gen) newWeights() []jen.Code {
	rtp := g.in.RuntimeImport
	hdr := jen.Qual(rtp, "WeightsHeaderSize")
	var cs []jen.Code
	if g.in.ExternalWeights {
		cs = append(cs,
			jen.If(jen.Id("o").Dot("weightsFile").Op("==").Lit("")).Block(jen.Id("o").Dot("weightsFile").Op("=").Id("defaultWeightsFile")),
			jen.If(jen.Id("o").Dot("weightsFile").Op("==").Lit("")).Block(
				jen.Return(jen.Nil(), jen.Qual("errors", "New").Call(jen.Lit(g.in.Package+": the weights are not embedded (modelc build --external-weights): New needs WithWeightsFile(path of weights.bin)"))),
			),
		)
	}
	file := jen.Case(jen.Id("o").Dot("weightsFile").Op("!=").Lit("")).Block(
		jen.List(jen.Id("f"), jen.Err()).Op(":=").Qual(rtp, "OpenWeights").Call(jen.Id("o").Dot("weightsFile"), jen.Id("codeHash")),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(g.in.Package+": %w"), jen.Err())),
		),
		jen.Id("w").Op("=").Id("loadWeights").Call(jen.Id("f").Dot("Data").Call(), jen.Id("o").Dot("copyWeights")),
		jen.Id("w").Dot("file").Op("=").Id("f"),
	)
	if g.in.ExternalWeights {
		return append(cs, jen.Var().Id("w").Op("*").Id("weights"), jen.Switch().Block(file))
	}
	return append(cs,
		jen.Var().Id("w").Op("*").Id("weights"),
		jen.Switch().Block(
			file,
			jen.Case(jen.Id("o").Dot("copyWeights")).Block(
				jen.Id("w").Op("=").Id("loadWeights").Call(jen.Id("weightsBin").Index(jen.Add(hdr).Op(":")), jen.True()),
			),
			jen.Default().Block(
				jen.Id("shared").Dot("once").Dot("Do").Call(jen.Func().Params().Block(
					jen.Id("shared").Dot("w").Op("=").Id("loadWeights").Call(jen.Id("weightsBin").Index(jen.Add(hdr).Op(":")), jen.False()),
				)),
				jen.Id("w").Op("=").Id("shared").Dot("w"),
			),
		),
	)
}

// sealWeights computes the code hash over the package's code, puts it in
// model.go and writes weights.bin with it. The hash is the code's as
// generated with embedded weights, so that a build with external weights
// and one without share their files.
func (g *gen) sealWeights(files map[string][]byte) error {
	code := files
	if g.in.ExternalWeights {
		emb := *g
		emb.in.ExternalWeights = false
		model, err := emb.modelFile()
		if err != nil {
			return err
		}
		code = map[string][]byte{"model.go": model}
		for name, data := range files {
			if name != "model.go" {
				code[name] = data
			}
		}
	}
	hash := codeHash(code, g.in.Hash)
	model := files["model.go"]
	if bytes.Count(model, []byte(codeHashPlaceholder)) != 1 {
		return fmt.Errorf("BUG: codegen: model.go does not hold the code hash's placeholder once")
	}
	files["model.go"] = bytes.Replace(model, []byte(codeHashPlaceholder), []byte(hash), 1)
	w, err := runtime.EncodeWeights(hash, g.weights)
	if err != nil {
		return fmt.Errorf("BUG: codegen: %w", err)
	}
	files["weights.bin"] = w
	return nil
}

// codeHash is the SHA-256 (hex) of a package's code: its .go and .s
// files but tests, less the lines that record what it was built from
// (those holding the inputs' hash, which covers the weights, and the
// go:generate command).
func codeHash(files map[string][]byte, inputHash string) string {
	var names []string
	for name := range files {
		if (strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".s")) && !strings.HasSuffix(name, "_test.go") && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%s\n", name)
		for _, line := range bytes.SplitAfter(files[name], []byte("\n")) {
			// The lines that record what the code was built from (the
			// inputs' hash covers the weights) are not code.
			if inputHash != "" && bytes.Contains(line, []byte(inputHash)) || bytes.HasPrefix(line, []byte("//go:generate ")) {
				continue
			}
			h.Write(line)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
