package runtime

// Tier is the instruction-set level whose kernels a generated package
// runs, chosen once at start-up. Tiers belong to one architecture each
// (Arch), and within it each implies the ones before it; TierGeneric, the
// pure-Go kernels, belongs to every architecture. Each tier is computed
// from every CPU feature its kernels use, because a GODEBUG option
// (cpu.avx2=off, …) or a hypervisor can turn features off one at a time,
// and they do not cascade: AVX-512F can be reported while FMA is not.
//
// Generated code asks Supports(t) for each tier it has kernels for, so a
// package holding amd64 and arm64 kernels picks its own architecture's.
type Tier int

const (
	// TierGeneric runs the pure-Go kernels (also the purego build tag,
	// and every architecture without assembly kernels).
	TierGeneric Tier = iota
	// TierAVX2 is x86-64 with AVX2 and FMA (256-bit vectors).
	TierAVX2
	// TierAVX512 is TierAVX2 plus AVX-512 F, BW and VL (512-bit vectors).
	TierAVX512
	// TierVNNI is TierAVX512 plus AVX-512 VNNI (int8 dot products).
	TierVNNI
	// TierNEON is arm64 with Advanced SIMD (128-bit vectors, fused
	// multiply-add).
	TierNEON
	// TierDotProd is TierNEON plus the dot-product instructions (SDOT,
	// UDOT: int8 dot products).
	TierDotProd
)

var tierInfo = [...]struct{ name, arch string }{
	TierGeneric: {"generic", ""},
	TierAVX2:    {"avx2", "amd64"},
	TierAVX512:  {"avx512", "amd64"},
	TierVNNI:    {"vnni", "amd64"},
	TierNEON:    {"neon", "arm64"},
	TierDotProd: {"dotprod", "arm64"},
}

func (t Tier) String() string {
	if t < 0 || int(t) >= len(tierInfo) {
		return "tier(?)"
	}
	return tierInfo[t].name
}

// Arch returns the GOARCH whose CPUs have tier t, "" for TierGeneric.
func (t Tier) Arch() string {
	if t < 0 || int(t) >= len(tierInfo) {
		return "?"
	}
	return tierInfo[t].arch
}

// Supports reports whether this process's kernels may run at tier t: t
// is TierGeneric, or a tier of this architecture no higher than
// CPUTier().
func Supports(t Tier) bool {
	return t == TierGeneric || (t.Arch() == tier.Arch() && t <= tier)
}

// x86Features is the x86 CPU's feature set as golang.org/x/sys/cpu
// reports it (after GODEBUG), reduced to what the tiers need.
type x86Features struct {
	avx2, fma, avx512f, avx512bw, avx512vl, vnni bool
}

// x86Tier computes the highest amd64 tier whose every feature is present.
func x86Tier(f x86Features) Tier {
	if !f.avx2 || !f.fma {
		return TierGeneric
	}
	if !f.avx512f || !f.avx512bw || !f.avx512vl {
		return TierAVX2
	}
	if !f.vnni {
		return TierAVX512
	}
	return TierVNNI
}

// armFeatures is the arm64 CPU's feature set, reduced to what the tiers
// need.
type armFeatures struct {
	asimd, dotprod bool
}

// armTier computes the highest arm64 tier whose every feature is present.
func armTier(f armFeatures) Tier {
	if !f.asimd {
		return TierGeneric
	}
	if !f.dotprod {
		return TierNEON
	}
	return TierDotProd
}

var tier = detectTier()

// CPUTier returns the tier this process's kernels run at: the highest one
// the CPU supports (less whatever GODEBUG turns off), TierGeneric with the
// purego build tag or on an architecture without assembly kernels.
// Generated packages read it once, when they are initialised.
func CPUTier() Tier { return tier }
