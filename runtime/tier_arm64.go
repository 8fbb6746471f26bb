//go:build arm64 && !purego

package runtime

import "golang.org/x/sys/cpu"

func detectTier() Tier {
	return armTier(armFeatures{asimd: cpu.ARM64.HasASIMD, dotprod: cpu.ARM64.HasASIMDDP})
}
