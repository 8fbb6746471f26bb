package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// machineColors tell machines apart in a comparison.
var machineColors = []color.Color{
	color.RGBA{0x75, 0x70, 0xb3, 0xff}, color.RGBA{0xd9, 0x5f, 0x02, 0xff}, color.RGBA{0x1b, 0x9e, 0x77, 0xff},
	color.RGBA{0xe7, 0x29, 0x8a, 0xff}, color.RGBA{0x66, 0xa6, 0x1e, 0xff}, color.RGBA{0xe6, 0xab, 0x02, 0xff},
}

// Compare sets reports of one model from several machines side by side:
// a markdown table (per machine its measured limits, and per
// configuration modelc's latency and its speed over each peer measured
// with it) and an SVG chart of modelc's latency per configuration, one
// bar per machine.
func Compare(reports []*Report) (md string, chartSVG []byte, err error) {
	if len(reports) == 0 {
		return "", nil, fmt.Errorf("no reports to compare")
	}
	var configs []string
	for _, r := range reports {
		for _, e := range r.Engines {
			c := fmt.Sprintf("batch %d, %d thr", e.Batch, e.Threads)
			if !slices.Contains(configs, c) {
				configs = append(configs, c)
			}
		}
	}
	var b strings.Builder
	models := map[string]bool{}
	for _, r := range reports {
		models[r.Model] = true
	}
	if len(models) > 1 {
		b.WriteString("Note: these reports are of different models.\n\n")
	}
	head := []string{"machine", "tier", "peak GFLOP/s", "GB/s", "tuning"}
	for _, c := range configs {
		head = append(head, c)
	}
	var rows [][]string
	p := plot.New()
	p.Title.Text = "modelc latency by machine"
	p.Y.Label.Text = "ms per call (modelc, tuned when tuned)"
	p.Add(plotter.NewGrid())
	w := vg.Points(math.Min(24, 200/float64(len(reports)*len(configs))))
	for i, r := range reports {
		m := r.Machine
		tuning := "defaults"
		if m.TuneDBSHA256 != "" {
			tuning = "db " + short(m.TuneDBSHA256)
		}
		row := []string{orUnknown(m.CPU) + " (" + m.OS + "/" + m.Arch + ")", m.Tier, fmt.Sprintf("%.1f", m.PeakGFLOPS), fmt.Sprintf("%.1f", m.ReadGBs), tuning}
		vals := make(plotter.Values, len(configs))
		for ci, c := range configs {
			var bt, th int
			fmt.Sscanf(c, "batch %d, %d thr", &bt, &th)
			base := r.base(bt, th)
			if base == nil {
				row = append(row, "–")
				continue
			}
			vals[ci] = base.MedianNs / 1e6
			cell := fmtNs(base.MedianNs)
			for _, e := range r.Engines {
				if e.Batch == bt && e.Threads == th && !strings.HasPrefix(e.Engine, "modelc") && e.MedianNs > 0 {
					cell += fmt.Sprintf("; %.2f× %s", e.MedianNs/base.MedianNs, e.Engine)
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return "", nil, err
		}
		bc.Color = machineColors[i%len(machineColors)]
		bc.LineStyle.Width = 0
		bc.Offset = w * vg.Length(float64(i)-float64(len(reports)-1)/2)
		p.Add(bc)
		p.Legend.Add(trimName(orUnknown(m.CPU), 30)+" "+m.Tier, bc)
	}
	mdTable(&b, head, rows)
	b.WriteString("\nEach cell: modelc's median latency on that machine (the tuned build where there was one) and its speed over each peer measured in the same run (above 1×, modelc is faster).\n")
	p.NominalX(configs...)
	p.Legend.Top = true
	p.Y.Min = 0
	data, err := svg(p, 7*vg.Inch, 4*vg.Inch)
	if err != nil {
		return "", nil, err
	}
	return b.String(), data, nil
}
