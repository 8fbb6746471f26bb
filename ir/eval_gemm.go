package ir

import (
	"runtime"
	"sync"
)

// The evaluator's matrix product: float32 operands, float64 accumulation,
// blocked for the caches (kcBlock × ncBlock panels of B, mcBlock × kcBlock
// panels of A, both packed as float64 so the inner loop does no
// conversions) and a 4×2 register tile, split across threads along the
// larger of M and N. It is the oracle, so it favours plain code over the
// last factor of speed; it only needs to keep tests and calibration fast.

const (
	gemmMR  = 4
	gemmNR  = 2
	kcBlock = 256
	mcBlock = 64
	ncBlock = 256
)

// mat is a strided float32 matrix view: element (i, j) is
// data[off + i*rs + j*cs], so transposes are free.
type mat struct {
	data        []float32
	off, rs, cs int
}

func (m mat) at(i, j int) float32 { return m.data[m.off+i*m.rs+j*m.cs] }

// rowMajor views data as an r×c row-major matrix starting at off.
func rowMajor(data []float32, off, c int) mat { return mat{data, off, c, 1} }

// transposed views data holding a c×r row-major matrix (r columns) as its
// r×c transpose.
func transposed(data []float32, off, r int) mat { return mat{data, off, 1, r} }

// gemm64 sets c[i*n+j] = Σ_k a(i,k)·b(k,j) for an m×k a and k×n b, in
// float64, using up to threads goroutines.
func gemm64(m, n, k int, a, b mat, c []float64, threads int) {
	for i := range c[:m*n] {
		c[i] = 0
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	flops := m * n * k
	if flops < 1<<16 {
		threads = 1
	}
	if threads == 1 {
		gemmSerial(m, n, k, a, b, c, n)
		return
	}
	var wg sync.WaitGroup
	if n >= m {
		chunk := (n + threads - 1) / threads
		chunk = (chunk + gemmNR - 1) / gemmNR * gemmNR
		for j0 := 0; j0 < n; j0 += chunk {
			j1 := min(j0+chunk, n)
			wg.Add(1)
			go func(j0, j1 int) {
				defer wg.Done()
				bb := b
				bb.off += j0 * b.cs
				gemmSerial(m, j1-j0, k, a, bb, c[j0:], n)
			}(j0, j1)
		}
	} else {
		chunk := (m + threads - 1) / threads
		chunk = (chunk + gemmMR - 1) / gemmMR * gemmMR
		for i0 := 0; i0 < m; i0 += chunk {
			i1 := min(i0+chunk, m)
			wg.Add(1)
			go func(i0, i1 int) {
				defer wg.Done()
				aa := a
				aa.off += i0 * a.rs
				gemmSerial(i1-i0, n, k, aa, b, c[i0*n:], n)
			}(i0, i1)
		}
	}
	wg.Wait()
}

var gemmBufs = sync.Pool{New: func() any {
	return &gemmBuf{
		ap: make([]float64, mcBlock*kcBlock),
		bp: make([]float64, kcBlock*ncBlock),
	}
}}

type gemmBuf struct{ ap, bp []float64 }

// gemmSerial accumulates a·b into c (row stride ldc) on one goroutine.
func gemmSerial(m, n, k int, a, b mat, c []float64, ldc int) {
	buf := gemmBufs.Get().(*gemmBuf)
	defer gemmBufs.Put(buf)
	for jc := 0; jc < n; jc += ncBlock {
		nc := min(ncBlock, n-jc)
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			packB(buf.bp, b, pc, jc, kc, nc)
			for ic := 0; ic < m; ic += mcBlock {
				mc := min(mcBlock, m-ic)
				packA(buf.ap, a, ic, pc, mc, kc)
				for jr := 0; jr < nc; jr += gemmNR {
					bp := buf.bp[jr*kc : (jr+gemmNR)*kc]
					for ir := 0; ir < mc; ir += gemmMR {
						ap := buf.ap[ir*kc : (ir+gemmMR)*kc]
						micro4x2(kc, ap, bp, c[(ic+ir)*ldc+jc+jr:], ldc, min(gemmMR, mc-ir), min(gemmNR, nc-jr))
					}
				}
			}
		}
	}
}

// packA copies rows i0..i0+mc, columns p0..p0+kc of a into panels of
// gemmMR rows, k-major, zero-padding the last panel.
func packA(dst []float64, a mat, i0, p0, mc, kc int) {
	for ir := 0; ir < mc; ir += gemmMR {
		panel := dst[ir*kc : (ir+gemmMR)*kc]
		for r := 0; r < gemmMR; r++ {
			if ir+r >= mc {
				for kk := 0; kk < kc; kk++ {
					panel[kk*gemmMR+r] = 0
				}
				continue
			}
			base := a.off + (i0+ir+r)*a.rs + p0*a.cs
			for kk := 0; kk < kc; kk++ {
				panel[kk*gemmMR+r] = float64(a.data[base+kk*a.cs])
			}
		}
	}
}

// packB copies rows p0..p0+kc, columns j0..j0+nc of b into panels of
// gemmNR columns, k-major, zero-padding the last panel.
func packB(dst []float64, b mat, p0, j0, kc, nc int) {
	for jr := 0; jr < nc; jr += gemmNR {
		panel := dst[jr*kc : (jr+gemmNR)*kc]
		for c := 0; c < gemmNR; c++ {
			if jr+c >= nc {
				for kk := 0; kk < kc; kk++ {
					panel[kk*gemmNR+c] = 0
				}
				continue
			}
			base := b.off + p0*b.rs + (j0+jr+c)*b.cs
			for kk := 0; kk < kc; kk++ {
				panel[kk*gemmNR+c] = float64(b.data[base+kk*b.rs])
			}
		}
	}
}

// micro4x2 adds the product of a 4×kc and a kc×2 panel to the mr×nr
// corner of c.
func micro4x2(kc int, ap, bp []float64, c []float64, ldc, mr, nr int) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float64
	ap = ap[:kc*4]
	bp = bp[:kc*2]
	for kk := 0; kk < kc; kk++ {
		a := ap[kk*4 : kk*4+4 : kk*4+4]
		b := bp[kk*2 : kk*2+2 : kk*2+2]
		b0, b1 := b[0], b[1]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
	}
	acc := [4][2]float64{{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}}
	for r := 0; r < mr; r++ {
		row := c[r*ldc : r*ldc+nr]
		for j := range row {
			row[j] += acc[r][j]
		}
	}
}
