package tensorio

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

var allDTypes = []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool}

// npyDTypes are the dtypes .npy can hold (all but BF16).
var npyDTypes = []DType{F64, F32, F16, I64, I32, I16, I8, U8, Bool}

// testShapes covers ordinary, empty and 0-d arrays.
var testShapes = [][]int{{2, 3}, {5}, {}, {0}, {3, 0, 2}, {1, 1, 1, 2}}

// sample returns an array of dt and shape with deterministic, varied bytes
// (which for float types include NaN patterns – round trips must keep bits).
func sample(name string, dt DType, shape []int) Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]byte, n*dt.Size())
	for i := range data {
		data[i] = byte(i*37 + 11 + len(name))
	}
	return Array{Name: name, DType: dt, Shape: append([]int{}, shape...), Data: data}
}

// requireSameArrays compares arrays, treating nil and empty shapes and data
// alike.
func requireSameArrays(t testing.TB, want, got []Array) {
	t.Helper()
	require.Equal(t, len(want), len(got), "number of arrays")
	for i := range want {
		requireSameArray(t, want[i], got[i])
	}
}

func requireSameArray(t testing.TB, want, got Array) {
	t.Helper()
	if err := sameArray(want, got); err != nil {
		t.Fatal(err)
	}
}

func sameArray(want, got Array) error {
	if want.Name != got.Name || want.DType != got.DType || fmtShape(want.Shape) != fmtShape(got.Shape) || !bytes.Equal(want.Data, got.Data) {
		return fmt.Errorf("arrays differ:\nwant %q %s %s %d bytes\n got %q %s %s %d bytes",
			want.Name, want.DType, fmtShape(want.Shape), len(want.Data), got.Name, got.DType, fmtShape(got.Shape), len(got.Data))
	}
	return nil
}

func sameArrays(want, got []Array) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d arrays, want %d", len(got), len(want))
	}
	for i := range want {
		if err := sameArray(want[i], got[i]); err != nil {
			return err
		}
	}
	return nil
}

func sameMetadata(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortArrays(a []Array) {
	sort.Slice(a, func(i, j int) bool { return a[i].Name < a[j].Name })
}
