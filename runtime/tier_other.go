//go:build (!amd64 && !arm64) || purego

package runtime

func detectTier() Tier { return TierGeneric }
