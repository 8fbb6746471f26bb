//go:build ignore

// Cold start: a process that loads a generated resnet20 and classifies one
// image, then exits. `make coldstart` builds it (out/coldstart, its own
// module with a replace directive to this checkout) and times whole runs
// with hyperfine, process start to first result: what a command-line tool
// or a serverless function pays per start.
package main

import (
	"fmt"
	"os"

	"example.com/coldstart/resnet20"
)

func main() {
	m, err := resnet20.New(resnet20.WithMaxBatch(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	img := make([]float32, 3*32*32)
	for i := range img {
		img[i] = float32(i%17) / 17
	}
	logits, err := m.Predict(nil, img)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	best := 0
	for j, v := range logits {
		if v > logits[best] {
			best = j
		}
	}
	fmt.Println("class", best)
}
