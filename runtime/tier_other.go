//go:build !amd64 || purego

package runtime

func detectTier() Tier { return TierGeneric }
