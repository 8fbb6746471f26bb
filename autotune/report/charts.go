package report

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// chart is one SVG chart of a report.
type chart struct {
	id, file, title, caption string
	svg                      []byte
}

// palette: one color per build or engine, the same in every chart.
var palette = map[string]color.Color{
	"tuned":          color.RGBA{0x1b, 0x9e, 0x77, 0xff},
	"default":        color.RGBA{0x75, 0x70, 0xb3, 0xff},
	"pure Go":        color.RGBA{0xd9, 0x5f, 0x02, 0xff},
	"modelc tuned":   color.RGBA{0x1b, 0x9e, 0x77, 0xff},
	"modelc":         color.RGBA{0x75, 0x70, 0xb3, 0xff},
	"modelc pure Go": color.RGBA{0xd9, 0x5f, 0x02, 0xff},
	"torch":          color.RGBA{0xe7, 0x29, 0x8a, 0xff},
	"ort":            color.RGBA{0x66, 0xa6, 0x1e, 0xff},
}

func colorOf(name string, i int) color.Color {
	if c, ok := palette[name]; ok {
		return c
	}
	extra := []color.Color{color.RGBA{0xe6, 0xab, 0x02, 0xff}, color.RGBA{0xa6, 0x76, 0x1d, 0xff}, color.RGBA{0x66, 0x66, 0x66, 0xff}}
	return extra[i%len(extra)]
}

// svg renders p at w×h.
func svg(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// charts draws the report's charts: the roofline, the layers of each
// batch and the engines' latency.
func (r *Report) charts() ([]chart, error) {
	var out []chart
	if c, err := r.roofline(); err != nil {
		return nil, err
	} else if c != nil {
		out = append(out, *c)
	}
	if c, err := r.latency(); err != nil {
		return nil, err
	} else if c != nil {
		out = append(out, *c)
	}
	for _, b := range r.batches() {
		c, err := r.layers(b)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

// roofline plots every step with FLOPs and bytes of every profiled build
// at its arithmetic intensity (FLOP/byte) and speed (GFLOP/s) under the
// roof min(peak, bandwidth × intensity) measured on the machine.
func (r *Report) roofline() (*chart, error) {
	if len(r.Layers) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Roofline: every kernel of " + r.Model
	p.X.Label.Text = "arithmetic intensity (FLOP/byte)"
	p.Y.Label.Text = "GFLOP/s"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	ylo, yhi := math.Inf(1), 0.0
	n := 0
	for i, l := range r.Layers {
		var xys plotter.XYs
		for _, s := range l.Steps {
			if s.Flops <= 0 || s.Bytes <= 0 || s.Ns <= 0 {
				continue
			}
			x, y := s.Flops/s.Bytes, s.Flops/s.Ns
			xys = append(xys, plotter.XY{X: x, Y: y})
			lo, hi = min(lo, x), max(hi, x)
			ylo, yhi = min(ylo, y), max(yhi, y)
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = colorOf(l.Build, i)
		sc.GlyphStyle.Radius = vg.Points(2.5)
		sc.GlyphStyle.Shape = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.PlusGlyph{}}[l.Batch%4]
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("%s, batch %d", l.Build, l.Batch), sc)
		n += len(xys)
	}
	if n == 0 {
		return nil, nil
	}
	m := r.Machine
	caption := fmt.Sprintf("%d kernel runs. ", n)
	if m.PeakGFLOPS > 0 && m.ReadGBs > 0 {
		lo, hi = min(lo, m.PeakGFLOPS/m.ReadGBs)/4, max(hi, m.PeakGFLOPS/m.ReadGBs)*4
		var roof plotter.XYs
		for x := lo; x <= hi*1.0001; x *= math.Pow(hi/lo, 1.0/64) {
			roof = append(roof, plotter.XY{X: x, Y: min(m.PeakGFLOPS, m.ReadGBs*x)})
		}
		line, err := plotter.NewLine(roof)
		if err != nil {
			return nil, err
		}
		line.Color = color.Black
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("roof: %.0f GFLOP/s, %.0f GB/s", m.PeakGFLOPS, m.ReadGBs), line)
		caption += fmt.Sprintf("The roof is the fp32 FMA peak (%.1f GFLOP/s) and the read bandwidth from memory (%.1f GB/s) of one thread, measured in the same run; a kernel whose data stay in cache can pass the bandwidth slope.", m.PeakGFLOPS, m.ReadGBs)
		yhi = max(yhi, m.PeakGFLOPS)
	}
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min, p.Y.Max = ylo/2, yhi*2
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(6)
	data, err := svg(p, 7*vg.Inch, 4.5*vg.Inch)
	if err != nil {
		return nil, err
	}
	return &chart{id: "roofline", file: "roofline.svg", title: "Roofline", caption: caption, svg: data}, nil
}

// latency plots each engine's median latency per configuration.
func (r *Report) latency() (*chart, error) {
	var engines []string
	var configs []string
	for _, e := range r.Engines {
		if e.Missing != "" || e.MedianNs <= 0 {
			continue
		}
		if !slices.Contains(engines, e.Engine) {
			engines = append(engines, e.Engine)
		}
		c := fmt.Sprintf("batch %d, %d thr", e.Batch, e.Threads)
		if !slices.Contains(configs, c) {
			configs = append(configs, c)
		}
	}
	if len(engines) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Latency of " + r.Model + " (relative to modelc)"
	p.Y.Label.Text = "engine time ÷ modelc's (lower is faster)"
	p.Add(plotter.NewGrid())
	w := vg.Points(math.Min(24, 180/float64(len(engines)*len(configs))))
	for i, eng := range engines {
		vals := make(plotter.Values, len(configs))
		for _, e := range r.Engines {
			if e.Engine != eng || e.MedianNs <= 0 {
				continue
			}
			b := r.base(e.Batch, e.Threads)
			if b == nil {
				continue
			}
			c := slices.Index(configs, fmt.Sprintf("batch %d, %d thr", e.Batch, e.Threads))
			vals[c] = e.MedianNs / b.MedianNs
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bc.Color = colorOf(eng, i)
		bc.LineStyle.Width = 0
		bc.Offset = w * vg.Length(float64(i)-float64(len(engines)-1)/2)
		p.Add(bc)
		p.Legend.Add(eng, bc)
	}
	p.NominalX(configs...)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	p.Y.Min = 0
	// Room above the bars for the legend.
	p.Y.Max *= 1 + 0.12*float64(len(engines))
	data, err := svg(p, 7*vg.Inch, 4*vg.Inch)
	if err != nil {
		return nil, err
	}
	var peers []string
	for _, e := range engines {
		if !strings.HasPrefix(e, "modelc") {
			peers = append(peers, e)
		}
	}
	caption := "Median latency of each engine over modelc's, interleaved in one run."
	if len(peers) > 0 {
		caption += " Peers: " + strings.Join(peers, ", ") + "."
	}
	return &chart{id: "latency", file: "latency.svg", title: "Latency", caption: caption, svg: data}, nil
}

// layers plots the slowest steps at one batch, one bar per build.
func (r *Report) layers(batch int) (*chart, error) {
	var runs []Layers
	for _, l := range r.Layers {
		if l.Batch == batch && len(l.Steps) > 0 {
			runs = append(runs, l)
		}
	}
	if len(runs) == 0 {
		return nil, nil
	}
	// The steps that take most of the first build's time, at most 14.
	idx := make([]int, len(runs[0].Steps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(runs[0].Steps[b].Ns, runs[0].Steps[a].Ns)
	})
	idx = idx[:min(14, len(idx))]
	slices.Sort(idx)
	names := make([]string, len(idx))
	for k, i := range idx {
		names[k] = trimName(stepLabel(runs[0].Steps[i].Name), 28)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Steps of %s at batch %d", r.Model, batch)
	p.X.Label.Text = "µs per call"
	p.Add(plotter.NewGrid())
	h := vg.Points(math.Min(9, 18/float64(len(runs))))
	for j, l := range runs {
		vals := make(plotter.Values, len(idx))
		for k, i := range idx {
			if i < len(l.Steps) && l.Steps[i].Name == runs[0].Steps[i].Name {
				vals[k] = l.Steps[i].Ns / 1e3
			}
		}
		bc, err := plotter.NewBarChart(vals, h)
		if err != nil {
			return nil, err
		}
		bc.Horizontal = true
		bc.Color = colorOf(l.Build, j)
		bc.LineStyle.Width = 0
		bc.Offset = h * vg.Length(float64(len(runs)-1)/2-float64(j))
		p.Add(bc)
		p.Legend.Add(l.Build, bc)
	}
	// Top to bottom in step order.
	rev := slices.Clone(names)
	p.NominalY(rev...)
	p.Y.Scale = invertedNominal{len(names)}
	p.X.Min = 0
	// Room right of the longest bar for the legend.
	p.X.Max *= 1.25
	p.Legend.Top = true
	height := vg.Length(1.2*vg.Inch) + vg.Length(len(names))*vg.Points(float64(len(runs))*h.Points()+6)
	data, err := svg(p, 7*vg.Inch, max(height, 3*vg.Inch))
	if err != nil {
		return nil, err
	}
	var builds []string
	for _, l := range runs {
		builds = append(builds, l.Build)
	}
	return &chart{id: fmt.Sprintf("layers-b%d", batch), file: fmt.Sprintf("layers_b%d.svg", batch),
		title:   fmt.Sprintf("Steps at batch %d", batch),
		caption: fmt.Sprintf("The %d slowest steps at batch %d, in execution order: %s builds, each step timed with profiling on.", len(idx), batch, strings.Join(builds, ", ")),
		svg:     data}, nil
}

// stepLabel shortens a profile step's name ("step 2: linear {act=…}
// @blocks.0.fc1") to its layer and op ("blocks.0.fc1 linear").
func stepLabel(name string) string {
	_, rest, ok := strings.Cut(name, ": ")
	if !ok {
		return name
	}
	op, _, _ := strings.Cut(rest, " ")
	if i := strings.LastIndex(rest, " @"); i >= 0 {
		return rest[i+2:] + " " + op
	}
	return rest
}

// invertedNominal puts the first nominal name at the top.
type invertedNominal struct{ n int }

func (s invertedNominal) Normalize(min, max, x float64) float64 {
	return plot.LinearScale{}.Normalize(min, max, float64(s.n-1)-x)
}

func trimName(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
