package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modelc/modelc/autotune/report"
)

const reportUsage = "modelc report compare A/report.json B/report.json ... [-o DIR]"

// runReport is modelc report compare: reports of several machines (modelc
// bench --report) side by side, as a markdown table and a chart.
func runReport(args []string, stdout io.Writer) error {
	fs := newFlags("report", reportUsage)
	out := fs.String("o", "", "also write compare.md and compare.svg into this directory")
	help := fs.Bool("h", false, "show help")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *help {
		flagHelp(stdout, fs, reportUsage)
		return nil
	}
	if len(pos) < 2 || pos[0] != "compare" {
		return usageError{"usage: " + reportUsage}
	}
	var rs []*report.Report
	for _, path := range pos[1:] {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			path = filepath.Join(path, "report.json")
		}
		r, err := report.Read(path)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	md, svg, err := report.Compare(rs)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, md)
	if *out == "" {
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "compare.md"), []byte(md+"\n![modelc latency by machine](compare.svg)\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "compare.svg"), svg, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote compare.md and compare.svg to %s\n", *out)
	return nil
}
