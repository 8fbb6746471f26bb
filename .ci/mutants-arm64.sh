#!/bin/sh
# Mutation testing of the arm64 kernels: each mutant below changes one
# thing in a kernel generator (a lane index, an offset, a register, an
# arrangement, an instruction, a shift) in a copy of this checkout, and
# the arm64 suites must then fail: the drivers' conformance suite under
# qemu, the encoder against binutils, a generated package holding every
# kernel family, and the row kernels' suites (special rows: NaN, ±Inf,
# large values, tails), under qemu. A mutant that survives is reported and
# fails the script. Usage: .ci/mutants-arm64.sh (make mutants).
set -eu
GO=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The checkout without build outputs; its go.mod is the module's.
tar -C "$root" --exclude=./.git --exclude=./out --exclude=./bin -cf - . | tar -C "$work" -xf -
cd "$work"
run() { $GO test -count=1 -run 'TestNEON|TestEncod|TestARM64Packages/families|TestSoftmaxRows|TestLayerNormRows|TestElementwiseX86' ./codegen/isa/arm64/ ./codegen/ >/dev/null 2>&1; }
echo "mutants: the unmutated checkout passes"
run || { echo "mutants: the suites fail without a mutant"; exit 1; }
survived=0
n=0
while IFS='~' read -r file old new what; do
	[ -z "$file" ] && continue
	case $file in \#*) continue;; esac
	n=$((n + 1))
	cp "$file" "$file.orig"
	python3 - "$file" "$old" "$new" <<'PY'
import sys
p, old, new = sys.argv[1:4]
s = open(p).read()
if old not in s:
    sys.exit("mutant does not apply: " + old)
open(p, "w").write(s.replace(old, new, 1))
PY
	if run; then
		echo "SURVIVED $n: $what ($file: $old → $new)"
		survived=$((survived + 1))
	else
		echo "killed $n: $what"
	fi
	mv "$file.orig" "$file"
done <<'MUTANTS'
codegen/isa/arm64/gemm.go~fma := FMLSE~fma := FMLAE~sign of the packed weights
codegen/isa/arm64/gemm.go~fn.Encode(fma, aReg(i).S(s)~fn.Encode(fma, aReg(i).S(0)~lane index of A
codegen/isa/arm64/gemm.go~fn.FMOVQ_P(At(row(i), 16)~fn.FMOVQ_P(At(row(i), 32)~A's post-increment
codegen/isa/arm64/gemm.go~fn.FMOVS_P(At(row(i), 4)~fn.FMOVS_P(At(row(i), 8)~A's tail post-increment
codegen/isa/arm64/gemm.go~fn.ADD(R(7), row(i))~fn.ADD(R(3), row(i))~the window's skip register
codegen/isa/arm64/gemm.go~fn.LSR(Imm(2), R(5))~fn.LSR(Imm(1), R(5))~the unrolled loop's count
codegen/isa/arm64/gemm.go~fn.AND(Imm(3), R(5))~fn.AND(Imm(1), R(5))~the tail's count
codegen/isa/arm64/gemm.go~fn.Encode(FADD, bReg(v).S4(), acc(i, v).S4(), acc(i, v).S4())~fn.Encode(FSUB, bReg(v).S4(), acc(i, v).S4(), acc(i, v).S4())~the bias's sign
codegen/isa/arm64/gemm.go~fn.Encode(FMAX, zero.S4()~fn.Encode(FMIN, zero.S4()~ReLU
codegen/isa/arm64/gemm.go~fn.ADD(R(4), R(14))~fn.ADD(R(3), R(14))~the residual's row stride
codegen/isa/arm64/gemm.go~fn.ADD(R(4), R(2))~fn.ADD(R(3), R(2))~C's row stride
codegen/isa/arm64/gemm.go~fn.MOVD(Imm(m.ldb*4), R(8))~fn.MOVD(Imm(m.ldb*2), R(8))~B's row stride
codegen/isa/arm64/gemm.go~k(numerics.VecHalf, c)~k(numerics.VecInvSqrt2, c)~a GELU constant
codegen/isa/arm64/gemm.go~acc := func(i, v int) VReg { return V(4*i + v) }~acc := func(i, v int) VReg { return V(4*i + v%3) }~an accumulator register
codegen/isa/arm64/gemm.go~fn.VLD1_P(ByReg(R(1), R(8)), bReg(0).S4s(nv))~fn.VLD1_P(ByReg(R(1), R(8)), bReg(0).S4s(nv-1))~B's vector count
codegen/isa/arm64/softmax.go~fn.Encode(FMAXP, acc.S4(), acc.S4(), acc.S4())~fn.Encode(FADDP, acc.S4(), acc.S4(), acc.S4())~the row maximum's reduction
codegen/isa/arm64/softmax.go~fn.VSUB(x.S4(), n.S4(), n.S4())~fn.VADD(x.S4(), n.S4(), n.S4())~the split of 2ⁿ
codegen/isa/arm64/softmax.go~fn.Encode(SHL, Imm(23), x.S4()~fn.Encode(SHL, Imm(22), x.S4()~the exponent field's shift
codegen/isa/arm64/softmax.go~fn.FMOVS_P(At(in, 4), x.F())~fn.FMOVS_P(At(in, 8), x.F())~the row tail's offset
codegen/isa/arm64/softmax.go~fn.VFMLS(cst(numerics.ExpVecC2).S4()~fn.VFMLA(cst(numerics.ExpVecC2).S4()~exp's range reduction
codegen/isa/arm64/layernorm.go~fn.FMOVQ(At(gamma, 16*v), t.F())~fn.FMOVQ(At(gamma, 0), t.F())~γ's offset
codegen/isa/arm64/layernorm.go~fn.Encode(FADDP, acc(0).S4(), acc(0).S4(), acc(0).S4())~fn.Encode(FADD, acc(0).S4(), acc(0).S4(), acc(0).S4())~the mean's reduction across lanes
codegen/isa/arm64/elementwise.go~fn.Encode(ins, V(4+u).S4()~fn.Encode(ins, V(u).S4()~the second operand's register
codegen/isa/arm64/elementwise.go~fn.VFMLA(sc.S4(), x.S4(), t.S4())~fn.VFMLA(sh.S4(), x.S4(), t.S4())~the affine scale
codegen/isa/arm64/encode.go~w = f.base | (i&1)<<21~w = f.base | (i&1)<<20~the by-element lane's bit L
codegen/isa/arm64/encode.go~FMAX:   {name: "fmax", kind: three, base: 0x4e20f400}~FMAX:   {name: "fmax", kind: three, base: 0x4e20c400}~FMAX's opcode (FMAXNM: NaN is lost)
codegen/isa/arm64/qgemm.go~fn.Encode(SDOTE, aReg(i).B4(s)~fn.Encode(SDOTE, aReg(i).B4(0)~the int8 dot product's group of A
codegen/isa/arm64/qgemm.go~fn.AND(Imm(3), R(5))~fn.AND(Imm(1), R(5))~the int8 dot product's tail count
codegen/isa/arm64/qgemm.go~fn.VSUB(neg(v, h).S4()~fn.VADD(neg(v, h).S4()~the int8 NEON kernel's correction of the u8 shift
MUTANTS
echo "mutants: $n, survived $survived"
[ "$survived" = 0 ]
