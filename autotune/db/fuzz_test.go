package db

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRead feeds arbitrary bytes to the reader: no panic, and what it
// keeps survives a rewrite unchanged.
func FuzzRead(f *testing.F) {
	d := &DB{Machine: testMachine, MachineID: testMachine.ID(), Records: []Record{rec("linear", "pw=64", 10, time.Unix(5, 0).UTC())}}
	d.Records[0].Machine = d.MachineID
	good, _ := d.encode()
	f.Add(good)
	f.Add([]byte("{\"modelc_tune_db\":1}\n{}\n\n{\"kernel\":1}"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := read(path)
		if err != nil {
			t.Fatal(err)
		}
		if a.MachineID == "" {
			return
		}
		a.Machine = Machine{CPU: "x"}
		if a.Machine.ID() != a.MachineID {
			a.MachineID = a.Machine.ID()
			for i := range a.Records {
				a.Records[i].Machine = a.MachineID
			}
		}
		out, err := a.encode()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, out, 0o644)
		b, err := read(path)
		if err != nil || len(b.Problems) != 0 || len(b.Records) != len(a.Records) {
			t.Fatalf("rewrite of %q: %v, problems %v, %d records, had %d", data, err, b.Problems, len(b.Records), len(a.Records))
		}
	})
}
