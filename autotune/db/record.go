package db

import (
	"fmt"
	"strconv"
	"time"
)

// Record is one line of a database: a variant of a kernel measured at a
// static shape and batch bucket on the database's machine, or the reason
// it could not be.
type Record struct {
	// Kernel names the kernel family ("linear", "conv2d", …), Shape its
	// static shape ("n512_k3072"), Batch the batch bucket (Bucket) and
	// Variant the variant ("pw=64,mr=12"): together, the record's key.
	Kernel  string `json:"kernel"`
	Shape   string `json:"shape"`
	Batch   string `json:"batch"`
	Variant string `json:"variant"`
	// Machine is the ID of the machine that measured it (Machine.ID).
	Machine string `json:"machine"`
	// Status is StatusOK or StatusFailed; Reason says why a variant
	// failed (it crashed, hung, returned wrong results, did not build).
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// MedianNs is the median time of one call (each sample the calling
	// thread's CPU time where the harness can read it, Linux, so that
	// time spent waiting for a core while other processes ran does not
	// count; else wall time); P10Ns and P90Ns bound the middle 80% of
	// the samples (the spread); Samples counts them.
	MedianNs float64 `json:"median_ns,omitempty"`
	P10Ns    float64 `json:"p10_ns,omitempty"`
	P90Ns    float64 `json:"p90_ns,omitempty"`
	Samples  int     `json:"samples,omitempty"`
	// Repeats counts timing rounds run again because other processes
	// used the machine meanwhile.
	Repeats int `json:"repeats,omitempty"`
	// Emulated marks a measurement taken under emulation (qemu): it
	// says the variant works, not how fast it is, and is never chosen
	// for speed.
	Emulated bool      `json:"emulated,omitempty"`
	Runner   string    `json:"runner,omitempty"` // how it ran: "local", "ssh host", …
	Modelc   string    `json:"modelc"`           // modelc version that measured it
	Go       string    `json:"go"`               // Go version that built the variant
	At       time.Time `json:"at"`
}

// Statuses of a record.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// Key identifies what a record measured; a database holds one record per
// key.
type Key struct{ Kernel, Shape, Batch, Variant string }

// Key returns r's key.
func (r Record) Key() Key { return Key{r.Kernel, r.Shape, r.Batch, r.Variant} }

func (k Key) String() string {
	return fmt.Sprintf("%s %s batch %s variant %s", k.Kernel, k.Shape, k.Batch, k.Variant)
}

func (k Key) less(o Key) bool {
	if k.Kernel != o.Kernel {
		return k.Kernel < o.Kernel
	}
	if k.Shape != o.Shape {
		return k.Shape < o.Shape
	}
	if k.Batch != o.Batch {
		return k.Batch < o.Batch
	}
	return k.Variant < o.Variant
}

// Usable reports whether r may be chosen for speed: it ran, matched its
// reference, and was not emulated.
func (r Record) Usable() bool { return r.Status == StatusOK && !r.Emulated && r.MedianNs > 0 }

// check reports what makes r unfit for a database.
func (r Record) check() error {
	switch {
	case r.Kernel == "" || r.Shape == "" || r.Batch == "" || r.Variant == "":
		return fmt.Errorf("record lacks its key (kernel, shape, batch, variant)")
	case r.Machine == "":
		return fmt.Errorf("record lacks its machine")
	case r.Status == StatusOK && !(r.MedianNs > 0):
		return fmt.Errorf("record %s: status ok without a positive median_ns", r.Key())
	case r.Status == StatusFailed && r.Reason == "":
		return fmt.Errorf("record %s: status failed without a reason", r.Key())
	case r.Status != StatusOK && r.Status != StatusFailed:
		return fmt.Errorf("record %s: status %q (want %q or %q)", r.Key(), r.Status, StatusOK, StatusFailed)
	}
	return nil
}

// Buckets are the batch buckets, by their upper bound: a variant tuned at
// one batch size serves the sizes of its bucket.
var buckets = []int{1, 8, 32, 128}

// Bucket returns the batch bucket of batch size b: "1", "2-8", "9-32",
// "33-128" or "129+".
func Bucket(b int) string {
	lo := 1
	for _, hi := range buckets {
		if b <= hi {
			if lo == hi {
				return strconv.Itoa(hi)
			}
			return fmt.Sprintf("%d-%d", lo, hi)
		}
		lo = hi + 1
	}
	return fmt.Sprintf("%d+", lo)
}
