#!/bin/sh
# The dispatch matrix: each GODEBUG setting that turns CPU features off,
# and the purego tag, with the tier the kernels must then run at (capped
# by what this machine has), on the runtime, the x86 kernel suite and a
# generated resnet20 checked against its vectors at batch 2.
# Usage: .ci/dispatch.sh MODELC_BINARY
set -eu
GO=${GO:-go}
bin=$1
rt=github.com/modelc/modelc/runtime # a module of its own
rank() { case $1 in generic) echo 0;; avx2) echo 1;; avx512) echo 2;; vnni) echo 3;; *) echo "unknown tier $1" >&2; exit 1;; esac; }
name() { n=$1; set -- generic avx2 avx512 vnni; shift "$n"; echo "$1"; }
hw=$(GODEBUG= $GO test -count=1 -v -run '^TestCPUTier$' $rt | sed -n 's/.*CPUTier() = \([a-z0-9]*\).*/\1/p')
echo "dispatch: this machine runs tier $hw"
rm -rf out/dispatch
"$bin" zoo build resnet20 -o out/dispatch/resnet20 >/dev/null
for c in "|vnni" "cpu.avx512vnni=off|avx512" "cpu.avx512f=off|avx2" "cpu.avx512bw=off|avx2" \
         "cpu.avx2=off|generic" "cpu.fma=off|generic"; do
	g=${c%%|*}
	cap=$(rank "${c##*|}")
	have=$(rank "$hw")
	want=$(name $(( cap < have ? cap : have )))
	echo "== GODEBUG=$g: tier $want"
	GODEBUG=$g MODELC_WANT_TIER=$want $GO test -count=1 -run 'TestTier|TestVectors|TestX86|TestCPUTier' $rt ./codegen/isa/amd64 ./out/dispatch/resnet20
done
echo "== -tags purego: tier generic"
MODELC_WANT_TIER=generic $GO test -tags purego -count=1 -run 'TestTier|TestVectors|TestCPUTier' $rt ./out/dispatch/resnet20
