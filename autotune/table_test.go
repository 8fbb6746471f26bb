package autotune

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelc/modelc/autotune/db"
)

// measure re-measures the committed timing tables (testdata/table_*.json)
// on this machine: go test ./autotune -run TestMeasureTables -measure.
var measure = flag.Bool("measure", false, "re-measure the timing tables in testdata (minutes)")

// Table is a space measured in full on one machine: the data the search
// strategies are tested on offline.
type Table struct {
	Machine db.Machine `json:"machine"`
	Go      string     `json:"go"`
	Command string     `json:"command"`
	Date    string     `json:"date"`
	Kernel  string     `json:"kernel"`
	Shape   string     `json:"shape"`
	Batch   int        `json:"batch"`
	Method  string     `json:"method"`
	// Passes is how many times the whole space was measured; Agreement
	// is the median over variants of (slowest − fastest pass) ÷ median.
	Passes    int     `json:"passes"`
	Agreement float64 `json:"agreement"`
	Rows      []Row   `json:"rows"`
}

// Row is one variant's time: the median over the passes of its
// anchor-normalised 10th percentiles.
type Row struct {
	Variant string    `json:"variant"`
	Ns      float64   `json:"ns"`
	Passes  []float64 `json:"passes_ns"`
	Failed  string    `json:"failed,omitempty"`
}

// tables are the committed tables: kernel, shape, batch.
var tables = []struct {
	l     Linear
	batch int
}{
	{Linear{N: 2048, K: 512, Tier: "generic"}, 32},
	{Linear{N: 512, K: 3072, Tier: "generic"}, 32},
}

func tableFile(l Linear, batch int) string {
	return filepath.Join("testdata", fmt.Sprintf("table_%s_%s_b%d.json", l.Family(), l.Shape(), batch))
}

// TestMeasureTables measures every variant of each table's space four
// times, in chunks of 48 built into one harness each and timed
// interleaved; every chunk also times the default variant, the anchor. A
// variant's time in a pass is the 10th percentile of its samples (on a
// shared machine other processes only ever slow a sample down: tinygrad's
// BEAM takes the minimum of its runs for the same reason) × (the anchor's
// over all chunks ÷ the anchor's in its chunk), which takes out drift
// between chunks; its table time is the median of the passes.
func TestMeasureTables(t *testing.T) {
	if !*measure {
		t.Skip("re-measures with -measure")
	}
	for _, tb := range tables {
		measureTable(t, tb.l, tb.batch)
	}
}

func measureTable(t *testing.T, l Linear, batch int) {
	const passes, chunk = 4, 48
	r := &Runner{Timeout: 30 * time.Second, Rounds: 3, PerRound: 3, Sample: 2 * time.Millisecond,
		Log: func(f string, a ...any) { t.Logf(f, a...) }}
	defer r.Close()
	ctx := context.Background()
	probe, err := r.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp := l.Space()
	all := sp.All()
	anchor := l.Default()
	perPass := make([]map[string]float64, passes)
	failed := map[string]string{}
	for pass := range passes {
		perPass[pass] = map[string]float64{}
		order := slices.Clone(all)
		rand.New(rand.NewPCG(uint64(pass), 7)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var anchors []float64
		type chunkRes struct {
			anchor float64
			recs   []db.Record
		}
		var res []chunkRes
		for c := 0; c < len(order); c += chunk {
			vs := append([]Point{anchor}, order[c:min(c+chunk, len(order))]...)
			recs, err := r.Measure(ctx, l, batch, vs)
			if err != nil {
				t.Fatal(err)
			}
			if recs[0].Status != db.StatusOK {
				t.Fatalf("the anchor failed: %s", recs[0].Reason)
			}
			anchors = append(anchors, recs[0].P10Ns)
			res = append(res, chunkRes{recs[0].P10Ns, recs[1:]})
			t.Logf("%s pass %d: %d of %d", l.Shape(), pass+1, min(c+chunk, len(order)), len(order))
		}
		ref := median(anchors)
		for _, cr := range res {
			for _, rec := range cr.recs {
				if rec.Status != db.StatusOK {
					failed[rec.Variant] = rec.Reason
					continue
				}
				perPass[pass][rec.Variant] = rec.P10Ns * ref / cr.anchor
			}
		}
	}
	tb := Table{Machine: probe.Machine, Go: probe.Go, Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Command: "go test ./autotune -run TestMeasureTables -measure -v", Kernel: l.Family(), Shape: l.Shape(), Batch: batch, Passes: passes,
		Method: fmt.Sprintf("every variant of the space in chunks of %d plus the default (the anchor), one harness per chunk, timed interleaved (%d rounds × %d samples of ≥ %v of the thread's CPU time); a variant's time in a pass is the 10th percentile of its samples (other processes only ever slow a sample down), normalised by the anchor's in its chunk; %d passes in different orders; the median of the passes", chunk, r.Rounds, r.PerRound, r.Sample, passes)}
	var diffs []float64
	for _, v := range all {
		name := sp.Name(v)
		row := Row{Variant: name, Failed: failed[name]}
		for p := range passes {
			if ns, ok := perPass[p][name]; ok {
				row.Passes = append(row.Passes, math.Round(ns))
			}
		}
		if len(row.Passes) == passes {
			row.Ns = math.Round(median(row.Passes))
			diffs = append(diffs, (slices.Max(row.Passes)-slices.Min(row.Passes))/row.Ns)
		}
		tb.Rows = append(tb.Rows, row)
	}
	tb.Agreement = median(diffs)
	data, err := json.MarshalIndent(tb, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tableFile(l, batch), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d variants, passes agree within %.1f%% (median)", tableFile(l, batch), len(all), 100*tb.Agreement)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadTable reads a committed table.
func loadTable(t *testing.T, path string) *Table {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tb Table
	if err := json.Unmarshal(data, &tb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.Command, "-measure") {
		t.Fatalf("%s: no command recorded", path)
	}
	return &tb
}
