package report

import (
	"bytes"
	"fmt"
	"html"
	"strings"
)

// html renders report.html: one file with the charts' SVG inline and no
// reference to anything outside it (no script, font or stylesheet to
// fetch; its content security policy forbids them), so it opens offline
// and can be mailed as it is.
func (r *Report) html(charts []chart) string {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc("modelc report: "+r.title()), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"meta\">%s · <code>%s</code></p>\n", esc(r.title()), esc(r.Date), esc(r.Command))
	b.WriteString("<h2>Machine</h2>\n<table class=\"machine\">\n")
	for _, kv := range r.Machine.rows() {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", esc(kv[0]), esc(kv[1]))
	}
	b.WriteString("</table>\n<h2>Latency</h2>\n<p>Engines interleaved round by round in one run; “modelc ÷ engine” is the engine's median over modelc's (the tuned build's, when there is one): above 1, modelc is faster.</p>\n")
	if d := r.disturbed(); d != "" {
		fmt.Fprintf(&b, "<p class=\"warn\">%s</p>\n", esc(d))
	}
	h, rows := r.engineTable()
	htmlTable(&b, h, rows)
	for _, c := range charts {
		fmt.Fprintf(&b, "<figure class=\"chart\" id=\"%s\">\n%s\n<figcaption><b>%s.</b> %s</figcaption>\n</figure>\n", c.id, inlineSVG(c.svg, c.title), esc(c.title), esc(c.caption))
	}
	if len(r.Choices) > 0 || len(r.Fallbacks) > 0 {
		b.WriteString("<h2>Tuned kernels</h2>\n")
		var rows [][]string
		for _, c := range r.Choices {
			rows = append(rows, []string{c.Kernel, c.Shape, c.Variant, fmt.Sprintf("%.2f×", c.Gain)})
		}
		if len(rows) > 0 {
			htmlTable(&b, []string{"kernel", "shape", "variant", "gain as tuned"}, rows)
		}
		if len(r.Fallbacks) > 0 {
			b.WriteString("<ul>\n")
			for _, f := range r.Fallbacks {
				fmt.Fprintf(&b, "<li>default: %s</li>\n", esc(f))
			}
			b.WriteString("</ul>\n")
		}
	}
	for _, batch := range r.batches() {
		h, rows := r.layerTable(batch)
		if h == nil {
			continue
		}
		fmt.Fprintf(&b, "<h2>Steps at batch %d</h2>\n", batch)
		htmlTable(&b, h, rows)
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

func htmlTable(b *strings.Builder, head []string, rows [][]string) {
	b.WriteString("<table>\n<thead><tr>")
	for _, h := range head {
		fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(b, "<td>%s</td>", html.EscapeString(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
}

// inlineSVG prepares a chart for inlining: without the XML prolog, with
// a title for screen readers, scaled to the page's width.
func inlineSVG(svg []byte, title string) string {
	s := svg
	if i := bytes.Index(s, []byte("<svg")); i > 0 {
		s = s[i:]
	}
	out := string(s)
	if end := strings.IndexByte(out, '>'); end > 0 {
		out = out[:end] + ` role="img" class="plot"` + out[end:end+1] + "<title>" + html.EscapeString(title) + "</title>" + out[end+1:]
	}
	return out
}

const css = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#666}code{font-size:.9em;background:#f4f4f4;padding:0 .2em}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
thead th{background:#f4f4f4}td:nth-child(n+2){font-variant-numeric:tabular-nums}
table.machine th{background:#f9f9f9;font-weight:normal;color:#555}
.warn{background:#fff4e0;border-left:4px solid #e6a100;padding:.4rem .6rem}
figure.chart{margin:1.5rem 0}figure.chart svg{width:100%;height:auto}figcaption{font-size:.9rem;color:#444}`
