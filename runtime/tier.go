package runtime

// Tier is the instruction-set level whose kernels a generated package
// runs, chosen once at start-up. Each tier is computed from every CPU
// feature its kernels use, because a GODEBUG option (cpu.avx2=off, …)
// or a hypervisor can turn features off one at a time, and they do not
// cascade: AVX-512F can be reported while FMA is not.
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
)

func (t Tier) String() string {
	switch t {
	case TierGeneric:
		return "generic"
	case TierAVX2:
		return "avx2"
	case TierAVX512:
		return "avx512"
	case TierVNNI:
		return "vnni"
	}
	return "tier(?)"
}

// features is the CPU's feature set as golang.org/x/sys/cpu reports it
// (after GODEBUG), reduced to what the tiers need.
type features struct {
	avx2, fma, avx512f, avx512bw, avx512vl, vnni bool
}

// tierOf computes the highest tier whose every feature is present.
func tierOf(f features) Tier {
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

var tier = detectTier()

// CPUTier returns the tier this process's kernels run at: the highest one
// the CPU supports (less whatever GODEBUG turns off), TierGeneric with the
// purego build tag or off x86-64. Generated packages read it once, when
// they are initialised.
func CPUTier() Tier { return tier }
