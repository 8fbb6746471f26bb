package quant

// The integer GEMM's operand layout and its pure-Go twin: every vector
// kernel of the u8×s8 family (codegen/isa/amd64/qgemm.go: AVX-512 VNNI's
// VPDPBUSD, AVX2's exact VPMOVSXBW + VPMADDWD) computes GemmU8S8 on the
// same packed weights, bit for bit, and is tested against it.
//
// Weights w[n, k] (int8, −128 unused: [−127, 127]) are packed in panels
// of width columns: panel p holds, for each group g of 4 k, for each of
// its columns c, the 4 bytes w[p·width + c][4g … 4g+3] — a 4-byte group
// per column, what VPDPBUSD multiplies by 4 broadcast activation bytes.
// Columns past n and k past the end are zero, so a kernel may compute a
// whole panel and read whole groups. Activations are unsigned bytes: an
// int8 activation x enters as x + 128 (ShiftU8), and Σ_k (x+128)·w =
// Σ_k x·w + 128·Σ_k w, the second term a per-column constant the layer
// subtracts with its bias (ColumnSums).

// Groups is the number of 4-k groups for k: ⌈k/4⌉.
func Groups(k int) int { return (k + 3) / 4 }

// PackS8 packs w (n rows of k int8 values, row-major) in panels of
// width columns.
func PackS8(w []int8, n, k, width int) []int8 {
	g := Groups(k)
	panels := (n + width - 1) / width
	out := make([]int8, panels*g*width*4)
	for p := range panels {
		for gi := range g {
			for c := range width {
				j := p*width + c
				if j >= n {
					continue
				}
				for t := range 4 {
					if kk := 4*gi + t; kk < k {
						out[((p*g+gi)*width+c)*4+t] = w[j*k+kk]
					}
				}
			}
		}
	}
	return out
}

// ShiftU8 is an int8 activation as the unsigned byte the u8×s8 kernels
// read: x + 128.
func ShiftU8(x int8) uint8 { return uint8(x) ^ 0x80 }

// ColumnSums returns 128·Σ_k w[j, k] per column j: what the +128 shift
// of the activations adds to column j's accumulator.
func ColumnSums(w []int8, n, k int) []int32 {
	s := make([]int32, n)
	for j := range n {
		t := int32(0)
		for _, v := range w[j*k : (j+1)*k] {
			t += int32(v)
		}
		s[j] = 128 * t
	}
	return s
}

// GemmU8S8 computes c[i·ldc + j] = Σ_k a[i·lda + k]·w[j, k] for rows
// i < m and columns j < n, with b = PackS8(w, n, k, width): exact, the
// sum wrapping as int32 (products of u8 and s8 fit 16 bits, so int32
// holds any sum of K < 2^16 of them exactly). Rows of a must hold
// 4·Groups(k) bytes (lda ≥ that): the kernels read whole groups, the
// padding multiplied by zero weights.
func GemmU8S8(m, n, k int, a []uint8, lda int, b []int8, width int, c []int32, ldc int) {
	g := Groups(k)
	for i := range m {
		row := a[i*lda : i*lda+4*g]
		for j := range n {
			p, cc := j/width, j%width
			acc := int32(0)
			for gi := range g {
				w := b[((p*g+gi)*width+cc)*4:][:4]
				x := row[4*gi:][:4]
				acc += int32(x[0])*int32(w[0]) + int32(x[1])*int32(w[1]) + int32(x[2])*int32(w[2]) + int32(x[3])*int32(w[3])
			}
			c[i*ldc+j] = acc
		}
	}
}
