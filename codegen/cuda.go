package codegen

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/modelc/modelc/codegen/ptx"
	"github.com/modelc/modelc/ir"
	rt "github.com/modelc/modelc/runtime"
)

// CUDAOptions adds the CUDA back end to a generated package (modelc build
// --target cuda): PTX kernels for every step beside the CPU files
// (kernels_sm80.ptx, kernels_sm90.ptx), the schedule as a device program
// (cuda.go), and WithDevice, with which New runs the Model on a GPU
// (runtime/cuda.Device). The CPU path is unchanged and stays the default.
type CUDAOptions struct {
	// Fallback runs the steps that have no PTX generator on the CPU
	// (their operands copied from the device and back); without it such
	// a step is a build error naming its op.
	Fallback bool
	// Tile forces every GEMM's tile (a tuning sweep); nil: the occupancy
	// rule's choice (ptx.ChooseTile).
	Tile *ptx.Tile
}

// gpuStep is one step of the schedule on the device: its kernels, or a
// host step (the CPU kernel, for a step without a PTX generator).
type gpuStep struct {
	call    int // index in g.calls
	kernels []gpuKernel
	host    bool
	why     string // why it runs on the host
}

// cudaSchedule lowers every step of the schedule to PTX kernels.
func (g *gen) cudaSchedule() error {
	g.module = &ptx.Module{}
	for i, c := range g.calls {
		if c.k == nil {
			continue // a view: no work
		}
		ks, err := g.lowerCUDA(c.node)
		var np errNoPTX
		if errors.As(err, &np) {
			if !g.in.CUDA.Fallback {
				return fmt.Errorf("--target cuda: step %d: %s: %s (build with --cuda-fallback cpu to run it on the CPU)", i, nodeDesc(c.node), np.why)
			}
			g.gpu = append(g.gpu, gpuStep{call: i, host: true, why: np.why})
			continue
		}
		if err != nil {
			return fmt.Errorf("--target cuda: step %d: %s: %w", i, nodeDesc(c.node), err)
		}
		g.gpu = append(g.gpu, gpuStep{call: i, kernels: ks})
		for _, k := range ks {
			g.module.Add(k.k)
		}
	}
	return nil
}

// sortedOps lists a kernel's operands by name (maps do not keep order,
// and generated output must be deterministic).
func sortedOps(ops map[string]arg) []string {
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// gpuConstArgs are the constants the device kernels read, in a fixed
// order, for layoutWeights.
func (g *gen) gpuConstArgs() []arg {
	var as []arg
	for _, s := range g.gpu {
		for _, k := range s.kernels {
			for _, name := range sortedOps(k.ops) {
				if a := k.ops[name]; a.v.IsConst() {
					as = append(as, a)
				}
			}
		}
	}
	return as
}

// deviceArg is where a kernel operand points on the device.
func (g *gen) deviceArg(a arg) (rt.DeviceArg, error) {
	l, err := g.locate(a)
	if err != nil {
		return rt.DeviceArg{}, err
	}
	switch l.where {
	case inPort:
		return rt.DeviceArg{Space: rt.SpaceInput, Index: l.index}, nil
	case outPort:
		return rt.DeviceArg{Space: rt.SpaceOutput, Index: l.index}, nil
	case inWeights:
		return rt.DeviceArg{Space: rt.SpaceWeights, Offset: l.off}, nil
	case inSplat:
		return rt.DeviceArg{Space: rt.SpaceSplat, Offset: 4 * l.off}, nil
	}
	return rt.DeviceArg{Space: rt.SpaceArena, Index: l.index}, nil
}

// hostRegion is the region a host step copies for value v (ok false for
// what needs no copy: constants, and graph inputs, which the host has; a
// value computed into an input's buffer is copied).
func (g *gen) hostRegion(v *ir.Value) (rt.DeviceArg, bool, error) {
	if v.IsConst() {
		return rt.DeviceArg{}, false, nil
	}
	l, err := g.locate(arg{v: v})
	if err != nil {
		return rt.DeviceArg{}, false, err
	}
	size := 4
	if !l.f32 {
		size = 8
	}
	switch l.where {
	case inPort:
		if g.ins[l.index].v == v {
			return rt.DeviceArg{}, false, nil
		}
		p := g.portBytes(g.ins[l.index])
		return rt.DeviceArg{Space: rt.SpaceInput, Index: l.index, A: p.A, B: p.B}, true, nil
	case outPort:
		p := g.portBytes(g.outs[l.index])
		return rt.DeviceArg{Space: rt.SpaceOutput, Index: l.index, A: p.A, B: p.B}, true, nil
	}
	return rt.DeviceArg{Space: rt.SpaceArena, Index: l.index, A: l.elems.A * size, B: l.elems.B * size}, true, nil
}

func (g *gen) portBytes(p port) rt.DevicePort {
	size := 4
	if p.elem == "int64" {
		size = 8
	}
	if p.static {
		return rt.DevicePort{Name: p.v.Name, B: p.perSample * size}
	}
	return rt.DevicePort{Name: p.v.Name, A: p.perSample * size}
}

// deviceProgram is the schedule as a device runs it (PTX left to the
// package's embedded files).
func (g *gen) deviceProgram() (*rt.DeviceProgram, error) {
	p := &rt.DeviceProgram{Name: g.in.Graph.Name, MaxBatch: g.in.MaxBatch}
	for _, b := range g.arena {
		p.Buffers = append(p.Buffers, rt.Buffer{A: b.Bytes.A, B: b.Bytes.B, First: b.First, Last: b.Last})
	}
	for _, q := range g.ins {
		p.Inputs = append(p.Inputs, g.portBytes(q))
	}
	for _, q := range g.outs {
		p.Outputs = append(p.Outputs, g.portBytes(q))
	}
	hosts := 0
	for _, s := range g.gpu {
		c := g.calls[s.call]
		if s.host {
			st := rt.DeviceStep{Name: c.label, Host: hosts}
			hosts++
			for _, v := range c.node.Inputs {
				if r, ok, err := g.hostRegion(v); err != nil {
					return nil, err
				} else if ok {
					st.Reads = append(st.Reads, r)
				}
			}
			for _, v := range c.node.Outputs {
				if r, ok, err := g.hostRegion(v); err != nil {
					return nil, err
				} else if ok {
					st.Writes = append(st.Writes, r)
				}
			}
			p.Steps = append(p.Steps, st)
			continue
		}
		for _, k := range s.kernels {
			st := rt.DeviceStep{Name: c.label, Kernel: k.l.Kernel, Block: k.l.Block, Status: k.l.Status}
			for i, d := range k.l.Grid {
				st.Grid[i] = rt.GridDim{A: d.A, B: d.B, Div: d.Div}
			}
			for _, a := range k.l.Args {
				switch {
				case a.Ptr == "":
					st.Args = append(st.Args, rt.DeviceArg{Space: rt.SpaceCount, A: a.A, B: a.B})
				case a.Ptr == "status":
					st.Args = append(st.Args, rt.DeviceArg{Space: rt.SpaceStatus})
				default:
					op, ok := k.ops[a.Ptr]
					if !ok {
						return nil, fmt.Errorf("BUG: codegen: kernel %s: no tensor for operand %s", k.l.Kernel, a.Ptr)
					}
					da, err := g.deviceArg(op)
					if err != nil {
						return nil, err
					}
					st.Args = append(st.Args, da)
				}
			}
			p.Steps = append(p.Steps, st)
		}
	}
	return p, nil
}

// CUDAProgram is a model's device program and weights as a generated
// package's WithDevice would load them: for running a compiled model on a
// device without building the package (the GPU check, tuning sweeps).
type CUDAProgram struct {
	Program *rt.DeviceProgram // PTX filled in for every target
	Weights []byte            // weights.bin after its header
	Splat   []float32
	Module  *ptx.Module
}

// GenerateCUDA generates in (whose CUDA options must be set) and returns
// the device program beside the package's files.
func GenerateCUDA(in Input) (*CUDAProgram, map[string][]byte, error) {
	if in.CUDA == nil {
		return nil, nil, fmt.Errorf("BUG: codegen: GenerateCUDA without CUDA options")
	}
	g, files, err := generate(in)
	if err != nil {
		return nil, nil, err
	}
	p, err := g.deviceProgram()
	if err != nil {
		return nil, nil, err
	}
	p.PTX = map[string]string{}
	for _, t := range ptx.Targets {
		p.PTX[t] = string(g.module.Render(t))
	}
	cp := &CUDAProgram{Program: p, Weights: g.weights, Module: g.module}
	for _, v := range g.splats {
		for range v.Const.Numel() {
			cp.Splat = append(cp.Splat, v.Const.F[0])
		}
	}
	return cp, files, nil
}

// ptxFile is a target's module file in the package.
func ptxFile(target string) string { return "kernels_" + strings.ReplaceAll(target, "_", "") + ".ptx" }

// cudaFiles writes the PTX modules and cuda.go.
func (g *gen) cudaFiles(files map[string][]byte) error {
	for _, t := range ptx.Targets {
		files[ptxFile(t)] = g.module.Render(t)
	}
	p, err := g.deviceProgram()
	if err != nil {
		return err
	}
	src, err := g.cudaGo(p)
	if err != nil {
		return err
	}
	files["cuda.go"] = src
	return nil
}

// cudaGo emits cuda.go: the embedded PTX, the device program, WithDevice,
// the device half of forward and the host steps.
func (g *gen) cudaGo(p *rt.DeviceProgram) ([]byte, error) {
	rtp := g.in.RuntimeImport
	f := jen.NewFile(g.in.Package)
	f.HeaderComment(strings.TrimSuffix(g.header(), "\n\n"))
	f.ImportAlias(rtp, "rt")
	f.Anon("embed")
	f.Comment("This package's CUDA path needs modelc's runtime device contract v1.")
	f.Var().Id("_").Op("=").Qual(rtp, "ModelcDeviceV1")
	f.Line()
	ptxVars := jen.Dict{}
	for _, t := range ptx.Targets {
		name := "ptx" + strings.ToUpper(strings.ReplaceAll(t, "_", ""))
		f.Comment("//go:embed " + ptxFile(t))
		f.Var().Id(name).String()
		ptxVars[jen.Lit(t)] = jen.Id(name)
	}
	f.Line()
	f.Comment("deviceProgram is the schedule as a device runs it: the arena's buffers")
	f.Comment("(the CPU's memory plan), the ports and one step per kernel launch.")
	f.Var().Id("deviceProgram").Op("=").Qual(rtp, "DeviceProgram").Values(programDict(rtp, p))

	f.Comment("WithDevice makes New run the Model on d (runtime/cuda.Device(0)): the weights are")
	f.Comment("copied to the device once, and every call runs the schedule's kernels there. New")
	f.Comment("fails if the device cannot load the program (no driver, no GPU). Clones share")
	f.Comment("the device program; their calls take turns. The CPU path is the default.")
	f.Func().Id("WithDevice").Params(jen.Id("d").Qual(rtp, "Device")).Id("Option").Block(
		jen.Return(jen.Func().Params(jen.Id("o").Op("*").Id("options")).Block(jen.Id("o").Dot("device").Op("=").Id("d"))),
	)
	f.Comment("device is a Model's loaded device program and the call in flight.")
	f.Type().Id("device").Struct(
		jen.Id("mu").Qual("sync", "Mutex"),
		jen.Id("ex").Qual(rtp, "Executor"),
		jen.Id("in").Op("*").Id("Inputs"),
		jen.Id("out").Op("*").Id("Outputs"),
		jen.List(jen.Id("ins"), jen.Id("outs")).Index().Index().Byte(),
	)
	var hosts []jen.Code
	for _, s := range g.gpu {
		if s.host {
			hosts = append(hosts, jen.Func().Params(jen.Id("n").Int()).Error().Block(
				jen.Return(jen.Id("m").Dot(fmt.Sprintf("hostStep%d", s.call)).Call(jen.Id("n"), jen.Id("d").Dot("in"), jen.Id("d").Dot("out"))),
			))
		}
	}
	f.Comment("loadDevice loads the device program on dev for m (at New).")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("loadDevice").Params(jen.Id("dev").Qual(rtp, "Device")).Error().Block(
		jen.Id("p").Op(":=").Id("deviceProgram"),
		jen.Id("p").Dot("PTX").Op("=").Map(jen.String()).String().Values(ptxVars),
		jen.Id("p").Dot("MaxBatch").Op("=").Id("m").Dot("maxBatch"),
		jen.Id("d").Op(":=").Op("&").Id("device").Values(jen.Dict{
			jen.Id("ins"):  jen.Make(jen.Index().Index().Byte(), jen.Lit(len(g.ins))),
			jen.Id("outs"): jen.Make(jen.Index().Index().Byte(), jen.Lit(len(g.outs))),
		}),
		jen.Id("b").Op(":=").Qual(rtp, "DeviceBinding").Values(jen.Dict{
			jen.Id("Weights"): jen.Id("f32Bytes").Call(jen.Id("m").Dot("w").Dot("f32")),
			jen.Id("Splat"):   jen.Id("f32Bytes").Call(jen.Id("m").Dot("w").Dot("splat")),
			jen.Id("Arena"):   jen.Id("m").Dot("arena").Dot("Bytes").Call(),
			jen.Id("Host"):    jen.Index().Func().Params(jen.Int()).Error().Values(hosts...),
		}),
		jen.List(jen.Id("ex"), jen.Err()).Op(":=").Id("dev").Dot("Load").Call(jen.Op("&").Id("p"), jen.Id("b")),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(g.in.Package+": WithDevice(%v): %w"), jen.Id("dev"), jen.Err())),
		),
		jen.Id("d").Dot("ex").Op("=").Id("ex"),
		jen.Id("m").Dot("dev").Op("=").Id("d"),
		jen.Return(jen.Nil()),
	)

	// forwardDevice: the ports' bytes, the run, the host-side copies.
	run := []jen.Code{
		jen.Id("d").Op(":=").Id("m").Dot("dev"),
		jen.Id("d").Dot("mu").Dot("Lock").Call(),
		jen.Defer().Id("d").Dot("mu").Dot("Unlock").Call(),
		jen.List(jen.Id("d").Dot("in"), jen.Id("d").Dot("out")).Op("=").List(jen.Id("in"), jen.Id("out")),
	}
	conv := func(elem string) string {
		if elem == "int64" {
			return "i64Bytes"
		}
		return "f32Bytes"
	}
	for i, q := range g.ins {
		run = append(run, jen.Id("d").Dot("ins").Index(jen.Lit(i)).Op("=").Id(conv(q.elem)).Call(jen.Id("in").Dot(q.field)))
	}
	for i, q := range g.outs {
		run = append(run, jen.Id("d").Dot("outs").Index(jen.Lit(i)).Op("=").Id(conv(q.elem)).Call(jen.Id("out").Dot(q.field)))
	}
	run = append(run,
		jen.If(jen.Err().Op(":=").Id("d").Dot("ex").Dot("Run").Call(jen.Id("n"), jen.Id("d").Dot("ins"), jen.Id("d").Dot("outs")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(g.in.Package+": %w"), jen.Err())),
		))
	run = append(run, g.outputCopies()...)
	run = append(run, jen.Return(jen.Nil()))
	f.Comment("forwardDevice runs the schedule on the device for batch n; the caller holds m.mu.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("forwardDevice").Params(jen.Id("n").Int(), jen.Id("in").Op("*").Id("Inputs"), jen.Id("out").Op("*").Id("Outputs")).Error().Block(run...)

	f.Comment("Close frees the device memory of a Model made WithDevice (shared with its")
	f.Comment("clones: close it once, after their last call). A CPU Model has nothing to free.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("Close").Params().Error().Block(
		jen.If(jen.Id("m").Dot("dev").Op("==").Nil()).Block(jen.Return(jen.Nil())),
		jen.Id("m").Dot("dev").Dot("mu").Dot("Lock").Call(),
		jen.Defer().Id("m").Dot("dev").Dot("mu").Dot("Unlock").Call(),
		jen.Return(jen.Id("m").Dot("dev").Dot("ex").Dot("Close").Call()),
	)
	for _, s := range g.gpu {
		if !s.host {
			continue
		}
		c := g.calls[s.call]
		body := append(g.callCode(c), jen.Return(jen.Nil()))
		f.Comment(fmt.Sprintf("hostStep%d runs %s on the CPU: %s.", s.call, c.label, comment(s.why)))
		f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id(fmt.Sprintf("hostStep%d", s.call)).Params(jen.Id("n").Int(), jen.Id("in").Op("*").Id("Inputs"), jen.Id("out").Op("*").Id("Outputs")).Error().Block(body...)
	}
	f.Comment("f32Bytes and i64Bytes view a port's numbers as bytes (no copy).")
	for _, c := range []struct{ name, typ string }{{"f32Bytes", "float32"}, {"i64Bytes", "int64"}} {
		size := 4
		if c.typ == "int64" {
			size = 8
		}
		f.Func().Id(c.name).Params(jen.Id("v").Index().Id(c.typ)).Index().Byte().Block(
			jen.Return(jen.Qual("unsafe", "Slice").Call(jen.Parens(jen.Op("*").Byte()).Parens(jen.Qual("unsafe", "Pointer").Call(jen.Qual("unsafe", "SliceData").Call(jen.Id("v")))), jen.Len(jen.Id("v")).Op("*").Lit(size))),
		)
	}
	var buf strings.Builder
	if err := f.Render(&buf); err != nil {
		return nil, fmt.Errorf("BUG: codegen: cuda.go: %w", err)
	}
	// jennifer renders comments; the embed directives must be bare lines.
	return []byte(strings.ReplaceAll(buf.String(), "// //go:embed", "//go:embed")), nil
}

// programDict is a DeviceProgram as a composite literal (PTX and MaxBatch
// are set at load).
func programDict(rtp string, p *rt.DeviceProgram) jen.Dict {
	ints := func(kv ...any) jen.Dict {
		d := jen.Dict{}
		for i := 0; i < len(kv); i += 2 {
			if v := kv[i+1].(int); v != 0 {
				d[jen.Id(kv[i].(string))] = jen.Lit(v)
			}
		}
		return d
	}
	spaces := map[rt.Space]string{rt.SpaceCount: "SpaceCount", rt.SpaceArena: "SpaceArena", rt.SpaceWeights: "SpaceWeights",
		rt.SpaceSplat: "SpaceSplat", rt.SpaceInput: "SpaceInput", rt.SpaceOutput: "SpaceOutput", rt.SpaceStatus: "SpaceStatus"}
	args := func(as []rt.DeviceArg) jen.Code {
		var cs []jen.Code
		for _, a := range as {
			d := ints("Index", a.Index, "Offset", a.Offset, "A", a.A, "B", a.B)
			d[jen.Id("Space")] = jen.Qual(rtp, spaces[a.Space])
			cs = append(cs, jen.Values(d))
		}
		return jen.Index().Qual(rtp, "DeviceArg").Values(cs...)
	}
	var bufs, ins, outs, steps []jen.Code
	for _, b := range p.Buffers {
		bufs = append(bufs, jen.Values(ints("A", b.A, "B", b.B, "First", b.First, "Last", b.Last)))
	}
	for _, q := range p.Inputs {
		d := ints("A", q.A, "B", q.B)
		d[jen.Id("Name")] = jen.Lit(q.Name)
		ins = append(ins, jen.Values(d))
	}
	for _, q := range p.Outputs {
		d := ints("A", q.A, "B", q.B)
		d[jen.Id("Name")] = jen.Lit(q.Name)
		outs = append(outs, jen.Values(d))
	}
	for _, s := range p.Steps {
		d := jen.Dict{jen.Id("Name"): jen.Lit(s.Name)}
		if s.Kernel == "" {
			d[jen.Id("Host")] = jen.Lit(s.Host)
			d[jen.Id("Reads")] = args(s.Reads)
			d[jen.Id("Writes")] = args(s.Writes)
		} else {
			d[jen.Id("Kernel")] = jen.Lit(s.Kernel)
			d[jen.Id("Block")] = jen.Lit(s.Block)
			var grid []jen.Code
			for _, gd := range s.Grid {
				grid = append(grid, jen.Values(ints("A", gd.A, "B", gd.B, "Div", gd.Div)))
			}
			d[jen.Id("Grid")] = jen.Index(jen.Lit(3)).Qual(rtp, "GridDim").Values(grid...)
			d[jen.Id("Args")] = args(s.Args)
			if s.Status {
				d[jen.Id("Status")] = jen.True()
			}
		}
		steps = append(steps, jen.Values(d))
	}
	return jen.Dict{
		jen.Id("Name"):    jen.Lit(p.Name),
		jen.Id("Buffers"): jen.Index().Qual(rtp, "Buffer").Values(bufs...),
		jen.Id("Inputs"):  jen.Index().Qual(rtp, "DevicePort").Values(ins...),
		jen.Id("Outputs"): jen.Index().Qual(rtp, "DevicePort").Values(outs...),
		jen.Id("Steps"):   jen.Index().Qual(rtp, "DeviceStep").Values(steps...),
	}
}

// cudaReport is REPORT.md's CUDA section: each step's kernels, and the
// steps that run on the CPU.
func (g *gen) cudaReport() string {
	var sb strings.Builder
	sb.WriteString("## CUDA\n\nPTX ISA " + ptx.Version + " for " + strings.Join(ptx.Targets, " and ") + " (" + ptxFile(ptx.Targets[0]) + ", …); `New(WithDevice(cuda.Device(0)))` runs these kernels, in order, on one stream.\n\n| step | kernels |\n| --- | --- |\n")
	for _, s := range g.gpu {
		c := g.calls[s.call]
		if s.host {
			fmt.Fprintf(&sb, "| %s | **CPU** (%s) |\n", comment(c.label), comment(s.why))
			continue
		}
		var names []string
		for _, k := range s.kernels {
			names = append(names, "`"+k.l.Kernel+"`")
		}
		fmt.Fprintf(&sb, "| %s | %s |\n", comment(c.label), strings.Join(names, ", "))
	}
	return sb.String() + "\n"
}
