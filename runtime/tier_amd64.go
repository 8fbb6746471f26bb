//go:build amd64 && !purego

package runtime

import "golang.org/x/sys/cpu"

func detectTier() Tier {
	x := cpu.X86
	return x86Tier(x86Features{
		avx2: x.HasAVX2, fma: x.HasFMA,
		avx512f: x.HasAVX512F, avx512bw: x.HasAVX512BW, avx512vl: x.HasAVX512VL,
		vnni: x.HasAVX512VNNI,
	})
}
