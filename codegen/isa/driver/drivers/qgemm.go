package drivers

import "unsafe"

// qgemmArgs is the parameter block of the integer GEMM microkernels
// (offsets fixed in the assembly: a 0, b 8, c 16, lda 24, ldc 32, k4 40).
type qgemmArgs struct {
	a, b, c  unsafe.Pointer // A (u8 rows), B (a packed s8 panel slice), C (int32 rows)
	lda, ldc int            // row strides in bytes
	k4       int            // groups of 4 k
}

// QGemmShape is an isa.QGemm driver: weights [N, K] packed by
// runtime/quant.PackS8 in panels of PW columns, computed in tiles of MR
// rows × W columns (W divides PW). The microkernel contract (Micro): for
// r rows of A from a.a (a.lda bytes apart) and the W columns of B from
// a.b (groups 4·PW bytes apart), C[r×W] (int32, rows a.ldc bytes apart)
// = Σ over a.k4 groups of 4 k of u8(A)·s8(B) — quant.GemmU8S8.
type QGemmShape struct {
	Name     string
	N, K, PW int
	MR, W    int
	Micro    func(r int, a *qgemmArgs)
}

// QGemm computes c[i·ldc + j] = Σ_k a[i·lda + k]·w[j, k] for i < m and
// j < N on b = quant.PackS8(w, N, K, PW); rows of a hold whole groups of
// 4 bytes (lda ≥ 4·⌈K/4⌉). A partial last tile of columns goes through a
// scratch tile.
func QGemm(sh QGemmShape, m int, a []uint8, lda int, b []int8, c []int32, ldc int) {
	N, K, PW, MR, W := sh.N, sh.K, sh.PW, sh.MR, sh.W
	G := (K + 3) / 4
	NP := (N + PW - 1) / PW
	if m <= 0 {
		return
	}
	if lda < 4*G || len(a) < (m-1)*lda+4*G || len(b) < NP*G*PW*4 || ldc < N || len(c) < (m-1)*ldc+N {
		panic(sh.Name + ": buffer too short")
	}
	tile := make([]int32, MR*W)
	args := qgemmArgs{lda: lda, k4: G}
	for q := 0; q < NP; q++ {
		for s := 0; s < PW && q*PW+s < N; s += W {
			j0 := q*PW + s
			cols := min(W, N-j0)
			args.b = unsafe.Pointer(&b[q*G*PW*4+s*4])
			for i := 0; i < m; i += MR {
				r := min(MR, m-i)
				args.a = unsafe.Pointer(&a[i*lda])
				if cols == W {
					args.c, args.ldc = unsafe.Pointer(&c[i*ldc+j0]), 4*ldc
				} else {
					args.c, args.ldc = unsafe.Pointer(&tile[0]), 4*W
				}
				sh.Micro(r, &args)
				if cols < W {
					for ii := 0; ii < r; ii++ {
						copy(c[(i+ii)*ldc+j0:(i+ii)*ldc+j0+cols], tile[ii*W:ii*W+cols])
					}
				}
			}
		}
	}
}
